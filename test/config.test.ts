import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { effectiveProvider, isTooBroadForDefaultRoot, loadConfig } from "../src/config.js";

describe("loadConfig", () => {
  it("applies documented defaults", () => {
    const config = loadConfig({}, "/srv/project");
    expect(config.provider).toBe("auto");
    expect(effectiveProvider(config)).toBe("local");
    expect(config.bfl.baseUrl).toBe("https://api.bfl.ai");
    expect(config.outputDir).toBe(path.join(os.homedir(), "flux-fill-output"));
    expect(config.allowedDirs).toEqual(["/srv/project", config.outputDir, os.tmpdir()]);
    expect(config.timeoutMs).toBe(300_000);
    expect(config.maxInputBytes).toBe(50 * 1024 * 1024);
    expect(config.allowPrivateUrls).toBe(false);
  });

  it("picks bfl in auto mode when a key is set, and never keeps the key's whitespace", () => {
    const config = loadConfig({ BFL_API_KEY: "  secret-key \n" }, "/srv");
    expect(effectiveProvider(config)).toBe("bfl");
    expect(config.bfl.apiKey).toBe("secret-key");
    expect(effectiveProvider(loadConfig({ BFL_API_KEY: "k", FLUX_FILL_PROVIDER: "local" }, "/srv"))).toBe("local");
  });

  it("never makes the filesystem root or the home directory an implicit root", () => {
    expect(loadConfig({}, "/").allowedDirs).not.toContain("/");
    expect(loadConfig({}, os.homedir()).allowedDirs).not.toContain(os.homedir());
    expect(isTooBroadForDefaultRoot("/")).toBe(true);
    expect(isTooBroadForDefaultRoot(`${os.homedir()}/`)).toBe(true);
    expect(isTooBroadForDefaultRoot(path.join(os.homedir(), "Pictures"))).toBe(false);
  });

  it("takes allowed dirs split by the path delimiter, relative to the working directory", () => {
    const config = loadConfig({ FLUX_FILL_ALLOWED_DIRS: ["/a", "b", ""].join(path.delimiter) }, "/srv");
    expect(config.allowedDirs).toEqual(["/a", "/srv/b"]);
  });

  it("adds the command line's folders (serve DIR...) to FLUX_FILL_ALLOWED_DIRS; the defaults apply only when neither names one", () => {
    const both = loadConfig({ FLUX_FILL_ALLOWED_DIRS: "/a" }, "/srv", { allowedDirs: ["/b", "c", "/a"] });
    expect(both.allowedDirs).toEqual(["/a", "/b", "/srv/c"]);
    expect(loadConfig({}, "/srv", { allowedDirs: ["/b"] }).allowedDirs).toEqual(["/b"]);
    expect(loadConfig({}, "/srv", { allowedDirs: [] }).allowedDirs).toEqual(loadConfig({}, "/srv").allowedDirs);
  });

  it("treats a user_config placeholder an MCP Bundle host left unfilled as unset, never as a key or a folder", () => {
    const unfilled = (key: string) => `$\{user_config.${key}}`;
    const config = loadConfig(
      {
        BFL_API_KEY: unfilled("bfl_api_key"),
        FLUX_FILL_OUTPUT_DIR: ` ${unfilled("output_dir")}`,
        FLUX_FILL_ALLOWED_DIRS: unfilled("allowed_dirs"),
      },
      "/srv",
      { allowedDirs: [unfilled("allowed_dirs")] },
    );
    expect(config.bfl.apiKey).toBeUndefined();
    expect(effectiveProvider(config)).toBe("local");
    expect(config.outputDir).toBe(path.join(os.homedir(), "flux-fill-output"));
    expect(config.allowedDirs).toEqual(["/srv", config.outputDir, os.tmpdir()]);
    // Only a whole-value placeholder: a key or a folder that merely contains "${" is kept.
    expect(loadConfig({ BFL_API_KEY: `a${unfilled("x")}` }, "/srv").bfl.apiKey).toBe(`a${unfilled("x")}`);
  });

  it("polls adaptively unless FLUX_FILL_POLL_INTERVAL_MS sets a fixed interval", () => {
    expect(loadConfig({}, "/srv").bfl.pollIntervalMs).toBeUndefined();
    expect(loadConfig({ FLUX_FILL_POLL_INTERVAL_MS: " " }, "/srv").bfl.pollIntervalMs).toBeUndefined();
    expect(loadConfig({ FLUX_FILL_POLL_INTERVAL_MS: "500" }, "/srv").bfl.pollIntervalMs).toBe(500);
    for (const bad of ["0", "-5", "fast"]) {
      expect(() => loadConfig({ FLUX_FILL_POLL_INTERVAL_MS: bad }, "/srv")).toThrow(
        new RegExp(`FLUX_FILL_POLL_INTERVAL_MS must be a positive number of ms .*got "${bad}"`),
      );
    }
  });

  it("rejects bad values with the variable's name", () => {
    expect(() => loadConfig({ FLUX_FILL_TIMEOUT_S: "soon" }, "/")).toThrow(
      /FLUX_FILL_TIMEOUT_S must be a positive number, got "soon"/,
    );
    expect(() => loadConfig({ FLUX_FILL_PROVIDER: "openai" }, "/")).toThrow(
      /FLUX_FILL_PROVIDER must be auto, bfl, fal, replicate or local/,
    );
    expect(() => loadConfig({ BFL_API_BASE_URL: "ftp://x" }, "/")).toThrow(/BFL_API_BASE_URL/);
    expect(() => loadConfig({ FLUX_FILL_ALLOW_PRIVATE_URLS: "maybe" }, "/")).toThrow();
  });

  it("never puts the API key in a configuration error", () => {
    try {
      loadConfig({ BFL_API_KEY: "sk-very-secret", FLUX_FILL_MAX_INPUT_MB: "-1" }, "/");
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("sk-very-secret");
    }
  });
});

describe("team settings", () => {
  it("has single-user defaults: no tokens file, no OAuth, every slot for the one user", () => {
    const config = loadConfig({}, "/");
    expect(config.http).toMatchObject({
      tokensFile: undefined,
      oauth: undefined,
      maxSessions: 1000,
      maxSessionsPerUser: 1000,
    });
    expect(config.http.replayBudgetBytes).toBe(16 * 1024 * 1024);
    expect(config.maxActivePerUser).toBe(config.maxActive);
    expect(config.audit).toEqual({ file: undefined, prompts: false });
  });

  it("reads the team settings; with several users one may hold three quarters of the slots by default", () => {
    const config = loadConfig(
      {
        FLUX_FILL_HTTP_TOKENS_FILE: "tokens.txt",
        FLUX_FILL_OAUTH_ISSUER: "https://idp.example.com/",
        FLUX_FILL_PUBLIC_URL: "https://mcp.example.com/mcp",
        FLUX_FILL_OAUTH_USER_CLAIM: "email",
        FLUX_FILL_OAUTH_REQUIRED_SCOPE: "images:write  images:read",
        FLUX_FILL_AUDIT_LOG: "audit.jsonl",
        FLUX_FILL_AUDIT_PROMPTS: "1",
        FLUX_FILL_HTTP_MAX_SESSIONS: "50",
        FLUX_FILL_HTTP_MAX_SESSIONS_PER_USER: "5",
        FLUX_FILL_HTTP_REPLAY_MB: "8",
      },
      "/srv",
    );
    expect(config.http.tokensFile).toBe(path.resolve("/srv", "tokens.txt"));
    expect(config.http.oauth).toEqual({
      issuer: "https://idp.example.com/",
      publicUrl: "https://mcp.example.com/mcp",
      userClaim: "email",
      requiredScopes: ["images:write", "images:read"],
    });
    expect(config.audit).toEqual({ file: path.resolve("/srv", "audit.jsonl"), prompts: true });
    expect(config.http).toMatchObject({ maxSessions: 50, maxSessionsPerUser: 5, replayBudgetBytes: 8 * 1024 * 1024 });
    expect(config.maxActivePerUser).toBe(18);
    expect(loadConfig({ FLUX_FILL_HTTP_TOKENS_FILE: "t" }, "/").http.maxSessionsPerUser).toBe(100);
    expect(loadConfig({ FLUX_FILL_MAX_ACTIVE: "4", FLUX_FILL_MAX_ACTIVE_PER_USER: "2" }, "/").maxActivePerUser).toBe(2);
  });

  it("refuses an issuer without a public URL, and malformed values, naming the setting", () => {
    expect(() => loadConfig({ FLUX_FILL_OAUTH_ISSUER: "https://idp.example.com" }, "/")).toThrow(
      /FLUX_FILL_PUBLIC_URL/,
    );
    expect(() => loadConfig({ FLUX_FILL_PUBLIC_URL: "mcp.example.com" }, "/")).toThrow(/FLUX_FILL_PUBLIC_URL/);
    expect(() => loadConfig({ FLUX_FILL_MAX_ACTIVE_PER_USER: "0" }, "/")).toThrow(/FLUX_FILL_MAX_ACTIVE_PER_USER/);
    expect(() => loadConfig({ FLUX_FILL_HTTP_REPLAY_MB: "-1" }, "/")).toThrow(/FLUX_FILL_HTTP_REPLAY_MB/);
  });
});
