import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { parseTokensFile, userOfToken } from "../../src/transports/tokens-file.js";

const hex = (value: string) => createHash("sha256").update(value).digest("hex");

describe("parseTokensFile", () => {
  it("reads name:token and name:sha256:<hex>, skipping comments and blank lines", () => {
    const entries = parseTokensFile(
      `# the team\n\nalice:alice-token-0123456789\r\n  bob : sha256:${hex("bob-token-0123456789").toUpperCase()}  \nci.bot@example:t:with:colons-123456\n`,
    );
    expect(entries.map((e) => e.user)).toEqual(["alice", "bob", "ci.bot@example"]);
    expect(userOfToken("alice-token-0123456789", entries)).toBe("alice");
    expect(userOfToken("bob-token-0123456789", entries)).toBe("bob");
    expect(userOfToken("t:with:colons-123456", entries)).toBe("ci.bot@example");
    expect(userOfToken("nobody-token-0123456789", entries)).toBeUndefined();
  });

  it.each([
    ["no colon", "alice"],
    ["empty token", "alice:"],
    ["bad name", "al ice:alice-token-0123456789"],
    ["short token", "alice:short"],
    ["bad hash", "alice:sha256:abc"],
    ["twice", "alice:alice-token-0123456789\nalice:alice-token-9876543210"],
  ])("refuses a file with %s, naming the line but never the secret", (_why, text) => {
    let error: unknown;
    try {
      parseTokensFile(text, "/etc/tokens");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FluxFillError);
    expect((error as Error).message).toMatch(/\/etc\/tokens line \d/);
    expect((error as Error).message).not.toContain("0123456789");
  });
});
