import { describe, expect, it } from "vitest";
import { FluxFillError } from "../../../src/errors.js";
import {
  REDACTED,
  redactError,
  redactText,
  redactValue,
  withoutSecrets,
} from "../../../src/providers/upstream/redact.js";

const KEY = "sk-live-abcdef123456";

describe("redactText", () => {
  it("replaces every occurrence of every secret", () => {
    expect(redactText(`a ${KEY} b ${KEY} c whsec-99`, [KEY, "whsec-99"])).toBe(
      `a ${REDACTED} b ${REDACTED} c ${REDACTED}`,
    );
  });

  it("ignores empty and very short secrets instead of mangling the text", () => {
    expect(redactText("a cat sat", ["", "a"])).toBe("a cat sat");
  });

  it("leaves text without secrets unchanged", () => {
    expect(redactText("task 42 failed", [KEY])).toBe("task 42 failed");
  });
});

describe("redactValue", () => {
  it("redacts nested strings and keys, keeps other values", () => {
    expect(redactValue({ a: [KEY, 1, null], [KEY]: { b: `x${KEY}`, c: true } }, [KEY])).toEqual({
      a: [REDACTED, 1, null],
      [REDACTED]: { b: `x${REDACTED}`, c: true },
    });
  });
});

describe("redactError", () => {
  it("keeps kind and facts of a FluxFillError, without the secret", () => {
    const error = new FluxFillError("upstream_failed", `bad ${KEY}`, {
      suggestion: `check ${KEY}`,
      details: { taskId: "t1", echoed: KEY },
    });
    const out = redactError(error, [KEY]);
    expect(out.kind).toBe("upstream_failed");
    expect(out.message).toBe(`bad ${REDACTED}`);
    expect(out.suggestion).toBe(`check ${REDACTED}`);
    expect(out.details).toEqual({ taskId: "t1", echoed: REDACTED });
    expect(out.stack).not.toContain(KEY);
  });

  it("turns any other error into `internal`, redacted", () => {
    const out = redactError(new TypeError(`invalid header value ${KEY}`), [KEY]);
    expect(out.kind).toBe("internal");
    expect(out.message).toContain("invalid header value");
    expect(out.message).not.toContain(KEY);
    expect(redactError("plain string", [KEY]).kind).toBe("internal");
  });
});

describe("withoutSecrets", () => {
  it("passes a result through and lets what is thrown out only redacted, naming the provider", async () => {
    expect(await withoutSecrets(async () => 42, [KEY])).toBe(42);
    const thrown = await withoutSecrets(
      async () => {
        throw new TypeError(`invalid header value ${KEY}`);
      },
      [KEY],
      "fal",
    ).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(FluxFillError);
    expect((thrown as FluxFillError).message).toBe(
      `Unexpected error in the fal provider: invalid header value ${REDACTED}`,
    );
  });
});
