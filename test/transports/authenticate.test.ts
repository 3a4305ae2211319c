import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { LOCAL_PRINCIPAL } from "../../src/principal.js";
import { Authenticator, challengeHeader } from "../../src/transports/authenticate.js";
import { tempDir } from "../helpers/mcp.js";

const SINGLE = "s3cret-token-value";
const ALICE = "alice-token-0123456789";
const BOB = "bob-token-9876543210ab";
const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

const opened: Authenticator[] = [];
afterEach(() => {
  for (const auth of opened.splice(0)) auth.close();
});

async function authenticator(env: Record<string, string>): Promise<Authenticator> {
  const dir = await tempDir("flux-fill-auth-");
  const tokens = path.join(dir, "tokens");
  await writeFile(tokens, `# team\nalice:${ALICE}\n\nbob:sha256:${sha256(BOB)}\n`);
  const config = loadConfig({ FLUX_FILL_HTTP_TOKENS_FILE: tokens, ...env }, dir);
  const auth = new Authenticator(config, silentLogger);
  opened.push(auth);
  return auth;
}

describe("Authenticator", () => {
  it("needs nothing when no token setting is given: everyone is the local user", async () => {
    const auth = new Authenticator(loadConfig({}, "/"), silentLogger);
    expect(auth.required).toBe(false);
    expect(await auth.authenticate(undefined)).toEqual({ ok: true, principal: LOCAL_PRINCIPAL });
  });

  it("accepts the single token as the local user, with any case of the scheme and surrounding spaces", async () => {
    const auth = new Authenticator(loadConfig({ FLUX_FILL_HTTP_TOKEN: SINGLE }, "/"), silentLogger);
    for (const header of [`Bearer ${SINGLE}`, `bearer ${SINGLE}`, `  BEARER   ${SINGLE}  `]) {
      expect(await auth.authenticate(header), header).toEqual({ ok: true, principal: LOCAL_PRINCIPAL });
    }
  });

  it("refuses a missing header with a bare challenge, anything else as invalid_token", async () => {
    const auth = new Authenticator(loadConfig({ FLUX_FILL_HTTP_TOKEN: SINGLE }, "/"), silentLogger);
    for (const header of [undefined, "", "   "]) {
      expect(await auth.authenticate(header)).toMatchObject({
        ok: false,
        status: 401,
        challenge: 'Bearer realm="flux-fill-mcp"',
      });
    }
    for (const header of [
      "Bearer wrong",
      `Bearer ${SINGLE.slice(0, -1)}`,
      `Bearer ${SINGLE}x`,
      `Basic ${SINGLE}`,
      SINGLE,
      `Bearer ${SINGLE} extra`,
      "Bearer",
    ]) {
      const outcome = await auth.authenticate(header);
      expect(outcome.ok, header).toBe(false);
      expect(outcome.ok === false && outcome.challenge).toMatch(/^Bearer realm="flux-fill-mcp", error="invalid_token"/);
    }
  });

  it("names the user of a named token, plain or hashed, beside the single token", async () => {
    const auth = await authenticator({ FLUX_FILL_HTTP_TOKEN: SINGLE });
    expect(await auth.authenticate(`Bearer ${ALICE}`)).toEqual({ ok: true, principal: { user: "alice", scopes: [] } });
    expect(await auth.authenticate(`Bearer ${BOB}`)).toEqual({ ok: true, principal: { user: "bob", scopes: [] } });
    expect(await auth.authenticate(`Bearer ${SINGLE}`)).toEqual({ ok: true, principal: LOCAL_PRINCIPAL });
    // The hash itself is not a token.
    expect((await auth.authenticate(`Bearer ${sha256(BOB)}`)).ok).toBe(false);
  });

  it("takes a changed tokens file on reload; a broken one keeps the previous tokens", async () => {
    const auth = await authenticator({});
    const file = auth.tokensFile!.file;
    await writeFile(file, `carol:${BOB}\n`);
    expect(auth.tokensFile!.reload("test")).toBe(true);
    expect(await auth.authenticate(`Bearer ${BOB}`)).toEqual({ ok: true, principal: { user: "carol", scopes: [] } });
    expect((await auth.authenticate(`Bearer ${ALICE}`)).ok).toBe(false);
    await writeFile(file, "carol\n");
    expect(auth.tokensFile!.reload("test")).toBe(false);
    expect((await auth.authenticate(`Bearer ${BOB}`)).ok).toBe(true);
  });
});

describe("challengeHeader", () => {
  it("names the metadata and the scope, and drops quotes from values", () => {
    expect(
      challengeHeader({
        error: "invalid_token",
        description: 'bad "token"',
        scope: "images:write",
        resourceMetadata: "https://h/.well-known/oauth-protected-resource/mcp",
      }),
    ).toBe(
      'Bearer realm="flux-fill-mcp", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp", scope="images:write", error="invalid_token", error_description="bad token"',
    );
  });
});
