import { describe, expect, it } from "vitest";
import { looksLikeJwt, metadataUrls, OAuthResourceServer, scopesOf } from "../../src/transports/oauth.js";

describe("OAuth helpers", () => {
  it("looks for RFC 8414 metadata first, then OpenID discovery, path-inserted and appended", () => {
    expect(metadataUrls("https://idp.example.com")).toEqual([
      "https://idp.example.com/.well-known/oauth-authorization-server",
      "https://idp.example.com/.well-known/openid-configuration",
    ]);
    expect(metadataUrls("https://idp.example.com/realms/team/")).toEqual([
      "https://idp.example.com/.well-known/oauth-authorization-server/realms/team",
      "https://idp.example.com/.well-known/openid-configuration/realms/team",
      "https://idp.example.com/realms/team/.well-known/openid-configuration",
    ]);
  });

  it("reads scopes from `scope` or `scp`", () => {
    expect(scopesOf({ scope: "a  b" })).toEqual(["a", "b"]);
    expect(scopesOf({ scp: ["a", 3, "b"] })).toEqual(["a", "b"]);
    expect(scopesOf({ scp: "a b" })).toEqual(["a", "b"]);
    expect(scopesOf({})).toEqual([]);
  });

  it("tells JWTs from other bearer values", () => {
    expect(looksLikeJwt("eyJh.eyJz.c2ln")).toBe(true);
    expect(looksLikeJwt("alice-token-0123456789")).toBe(false);
    expect(looksLikeJwt("a.b")).toBe(false);
  });

  it("names its metadata at the path-inserted URL of the public URL and serves it at the root too", () => {
    const server = new OAuthResourceServer({
      issuer: "https://idp.example.com",
      publicUrl: "https://mcp.example.com/team/mcp",
      userClaim: "sub",
      requiredScopes: [],
    });
    expect(server.metadataUrl).toBe("https://mcp.example.com/.well-known/oauth-protected-resource/team/mcp");
    expect(server.metadataPaths("/mcp")).toEqual([
      "/.well-known/oauth-protected-resource/team/mcp",
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]);
    expect(server.protectedResourceMetadata()).not.toHaveProperty("scopes_supported");
  });

  it("answers 503 (not 401) when the issuer's metadata cannot be had, and tries again on the next token", async () => {
    let calls = 0;
    const server = new OAuthResourceServer(
      {
        issuer: "https://idp.example.com",
        publicUrl: "https://mcp.example.com/mcp",
        userClaim: "sub",
        requiredScopes: [],
      },
      {
        fetch: async () => {
          calls += 1;
          return new Response("nope", { status: 500 });
        },
      },
    );
    await expect(server.verify("eyJh.eyJz.c2ln")).rejects.toMatchObject({ status: 503 });
    const first = calls;
    await expect(server.verify("eyJh.eyJz.c2ln")).rejects.toMatchObject({ status: 503 });
    expect(calls).toBe(first * 2);
  });
});
