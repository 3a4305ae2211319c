import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { isPathInside, isPermitted, resolveAllowedPath } from "../../src/inputs/allowed-paths.js";

describe("isPathInside (posix)", () => {
  it.each<[string, string, boolean]>([
    ["/tmp/a/b.png", "/tmp/a", true],
    ["/tmp/a", "/tmp/a", true],
    ["/tmp/a/", "/tmp/a", true],
    ["/tmp/a", "/tmp/a/", true],
    ["/tmp/a/b/c/d.png", "/tmp/a/", true],
    ["/tmp/ab", "/tmp/a", false],
    ["/tmp/ab/c.png", "/tmp/a", false],
    ["/tmp/a", "/tmp/ab", false],
    ["/tmp", "/tmp/a", false],
    ["/tmp/a/../b.png", "/tmp/a", false],
    ["/tmp/a/../a/b.png", "/tmp/a", true],
    ["/tmp/a/./b.png", "/tmp/a", true],
    ["/tmp/a/b/../../a/c", "/tmp/a", true],
    ["/tmp/a/..b.png", "/tmp/a", true],
    ["/tmp/a/..", "/tmp/a", false],
    ["/etc/passwd", "/", true],
    ["/", "/tmp", false],
    ["/TMP/A/b.png", "/tmp/a", false],
    ["/tmp/a/b\0.png", "/tmp/a", false],
  ])("%s inside %s → %s", (child, parent, expected) => {
    expect(isPathInside(child, parent, path.posix)).toBe(expected);
  });
});

describe("isPathInside (win32)", () => {
  it.each<[string, string, boolean]>([
    ["C:\\Users\\me\\Pictures\\a.png", "C:\\Users\\me", true],
    ["C:\\Users\\me", "C:\\Users\\me\\", true],
    ["C:\\Users\\meme\\a.png", "C:\\Users\\me", false],
    ["C:\\Users\\me\\..\\you\\a.png", "C:\\Users\\me", false],
    ["D:\\Users\\me\\a.png", "C:\\Users\\me", false],
    ["c:\\users\\ME\\a.png", "C:\\Users\\me", true],
    ["C:/Users/me/a.png", "C:\\Users\\me", true],
    ["\\\\server\\share\\a.png", "\\\\server\\share", true],
    ["\\\\server\\other\\a.png", "\\\\server\\share", false],
  ])("%s inside %s → %s", (child, parent, expected) => {
    expect(isPathInside(child, parent, path.win32)).toBe(expected);
  });
});

describe("resolveAllowedPath", () => {
  let base: string;
  let allowed: string;
  let outside: string;
  const isRoot = process.getuid?.() === 0;

  beforeAll(async () => {
    base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "flux-fill-paths-")));
    allowed = path.join(base, "allowed");
    outside = path.join(base, "outside");
    await fs.mkdir(path.join(allowed, "sub"), { recursive: true });
    await fs.mkdir(path.join(allowed, "folder"));
    await fs.mkdir(outside);
    await fs.mkdir(path.join(base, "allowedx"));
    await fs.writeFile(path.join(allowed, "cat.png"), "cat");
    await fs.writeFile(path.join(allowed, "sub", "dog.png"), "dog");
    await fs.writeFile(path.join(outside, "secret.png"), "secret");
    await fs.writeFile(path.join(base, "allowedx", "x.png"), "x");
    await fs.symlink(path.join(outside, "secret.png"), path.join(allowed, "link-out.png"));
    await fs.symlink(outside, path.join(allowed, "linkdir"));
    await fs.symlink(path.join(allowed, "cat.png"), path.join(outside, "link-in.png"));
    await fs.symlink(allowed, path.join(base, "rootlink"));
  });

  afterAll(async () => {
    await fs.chmod(path.join(allowed, "locked.png"), 0o644).catch(() => {});
    await fs.rm(base, { recursive: true, force: true });
  });

  const options = () => ({ cwd: allowed, allowedDirs: [allowed] });

  async function refusal(p: string, opts: Parameters<typeof resolveAllowedPath>[1] = options()) {
    try {
      await resolveAllowedPath(p, opts);
    } catch (error) {
      if (error instanceof FluxFillError) return error;
      throw error;
    }
    throw new Error(`expected ${p} to be refused`);
  }

  /** The value of FLUX_FILL_ALLOWED_DIRS in the config line the message shows. */
  function suggestedValue(message: string): string {
    const line = /"env": (\{.*\})/.exec(message)?.[1];
    expect(line).toBeDefined();
    const env = JSON.parse(line ?? "{}") as Record<string, string>;
    expect(Object.keys(env)).toEqual(["FLUX_FILL_ALLOWED_DIRS"]);
    return env.FLUX_FILL_ALLOWED_DIRS ?? "";
  }

  it("resolves a relative path against cwd", async () => {
    expect(await resolveAllowedPath("cat.png", options())).toBe(path.join(allowed, "cat.png"));
    expect(await resolveAllowedPath("sub/dog.png", options())).toBe(path.join(allowed, "sub", "dog.png"));
  });

  it("accepts an absolute path inside a root, with surrounding whitespace", async () => {
    expect(await resolveAllowedPath(`  ${path.join(allowed, "sub", "dog.png")} `, options())).toBe(
      path.join(allowed, "sub", "dog.png"),
    );
  });

  it("expands ~ to the home directory", async () => {
    expect(await resolveAllowedPath("~/cat.png", { ...options(), cwd: outside, home: allowed })).toBe(
      path.join(allowed, "cat.png"),
    );
  });

  it("refuses ../ traversal out of the root, naming the setting and showing the config line", async () => {
    const error = await refusal("../outside/secret.png");
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toContain(path.join(outside, "secret.png"));
    expect(error.message).toContain(allowed);
    expect(error.message).toContain("FLUX_FILL_ALLOWED_DIRS");
    expect(error.message).toContain('"env": { "FLUX_FILL_ALLOWED_DIRS": ');
    expect(suggestedValue(error.message).split(path.delimiter)).toEqual([allowed, outside]);
    expect(error.details).toMatchObject({ input: "image", allowedDirs: [allowed] });
  });

  it("refuses traversal written inside an absolute path", async () => {
    const error = await refusal(`${path.join(allowed, "sub")}/../../outside/secret.png`);
    expect(error.kind).toBe("not_allowed");
  });

  it("refuses a sibling directory that shares the root's name as a prefix", async () => {
    const error = await refusal(path.join(base, "allowedx", "x.png"));
    expect(error.kind).toBe("not_allowed");
  });

  it("refuses a symlink inside the root that points outside, saying where it leads", async () => {
    const error = await refusal("link-out.png");
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toContain(
      `"${path.join(allowed, "link-out.png")}" (which resolves to "${path.join(outside, "secret.png")}")`,
    );
    expect(suggestedValue(error.message).split(path.delimiter)).toEqual([allowed, outside]);
  });

  it("refuses a file under a symlinked directory that points outside", async () => {
    const error = await refusal("linkdir/secret.png");
    expect(error.kind).toBe("not_allowed");
  });

  it("refuses a missing file under a symlinked directory that points outside (no existence leak)", async () => {
    const error = await refusal("linkdir/does-not-exist.png");
    expect(error.kind).toBe("not_allowed");
  });

  it("answers the same for missing and existing files outside the roots", async () => {
    const existing = await refusal(path.join(outside, "secret.png"));
    const missing = await refusal(path.join(outside, "missing.png"));
    expect(existing.kind).toBe("not_allowed");
    expect(missing.kind).toBe("not_allowed");
    expect(missing.message.replace("missing.png", "secret.png")).toBe(existing.message);
  });

  it("does not reveal where a symlink outside the roots leads", async () => {
    const error = await refusal(path.join(base, "rootlink", "..", "outside", "link-in.png"), {
      cwd: allowed,
      allowedDirs: [path.join(allowed, "sub")],
    });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).not.toContain("resolves to");
  });

  it("accepts a symlink outside the roots whose target is inside, returning the real path", async () => {
    expect(await resolveAllowedPath(path.join(outside, "link-in.png"), options())).toBe(path.join(allowed, "cat.png"));
  });

  it("accepts files under a root that is itself a symlink", async () => {
    const rootlink = path.join(base, "rootlink");
    const opts = { cwd: rootlink, allowedDirs: [rootlink] };
    expect(await resolveAllowedPath("cat.png", opts)).toBe(path.join(allowed, "cat.png"));
    expect(await resolveAllowedPath(path.join(allowed, "cat.png"), opts)).toBe(path.join(allowed, "cat.png"));
  });

  it("says 'not found' for a missing file inside a root", async () => {
    const error = await refusal("missing.png");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("not found");
    expect(error.message).toContain(path.join(allowed, "missing.png"));
  });

  it("says 'not found' for a path through a file (ENOTDIR) inside a root", async () => {
    const error = await refusal("cat.png/inner.png");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("not found");
  });

  it("refuses a directory", async () => {
    const error = await refusal("folder");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("is a directory");
  });

  it("refuses a null byte", async () => {
    const error = await refusal("cat.png\0.jpg");
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("null byte");
  });

  it.skipIf(process.platform === "win32")("refuses a FIFO (it could block forever)", async () => {
    const fifo = path.join(allowed, "pipe.png");
    execFileSync("mkfifo", [fifo]);
    const error = await refusal(fifo);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("not a regular file");
  });

  it.skipIf(isRoot || process.platform === "win32")("refuses an unreadable file", async () => {
    const locked = path.join(allowed, "locked.png");
    await fs.writeFile(locked, "locked");
    await fs.chmod(locked, 0o000);
    const error = await refusal(locked);
    expect(error.kind).toBe("bad_input");
    expect(error.message).toContain("cannot be read (EACCES)");
  });

  it("ignores roots that do not exist and lists every root in the suggested line", async () => {
    const missingRoot = path.join(base, "not-created");
    const opts = { cwd: allowed, allowedDirs: [missingRoot, allowed] };
    expect(await resolveAllowedPath("cat.png", opts)).toBe(path.join(allowed, "cat.png"));
    const error = await refusal(path.join(outside, "secret.png"), opts);
    expect(suggestedValue(error.message).split(path.delimiter)).toEqual([missingRoot, allowed, outside]);
  });

  it("refuses everything when no root is configured", async () => {
    const error = await refusal("cat.png", { cwd: allowed, allowedDirs: [] });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toContain("(none)");
  });

  it("names the mask when the mask is refused", async () => {
    const error = await refusal("../outside/secret.png", { ...options(), label: "mask" });
    expect(error.message).toMatch(/^The mask file/);
  });
});

describe("isPermitted: denied directories inside allowed roots (other users' results)", () => {
  const out = "/srv/out";
  it("refuses what lies in a denied directory unless an allowed root lies deeper", () => {
    // A named user: their own folder allowed, the rest of the output directory denied.
    const allowed = ["/srv", "/srv/out/users/alice"];
    const denied = [out];
    expect(isPermitted("/srv/photo.png", allowed, denied)).toBe(true);
    expect(isPermitted("/srv/out/users/alice/r.png", allowed, denied)).toBe(true);
    expect(isPermitted("/srv/out/users/bob/r.png", allowed, denied)).toBe(false);
    expect(isPermitted("/srv/out/local.png", allowed, denied)).toBe(false);
    expect(isPermitted("/elsewhere/x.png", allowed, denied)).toBe(false);
    // The local user: the output directory allowed, the users' folders in it denied.
    expect(isPermitted("/srv/out/r.png", [out], ["/srv/out/users"])).toBe(true);
    expect(isPermitted("/srv/out/users/bob/r.png", [out], ["/srv/out/users"])).toBe(false);
  });
});

describe("resolveAllowedPath with deniedDirs", () => {
  it("answers a denied file like one outside the roots, whether or not it exists", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "flux-fill-denied-"));
    const denied = path.join(root, "out", "users", "bob");
    await fs.mkdir(denied, { recursive: true });
    await fs.writeFile(path.join(denied, "r.png"), "x");
    const options = { cwd: root, allowedDirs: [root], deniedDirs: [path.join(root, "out", "users")] };
    for (const p of [
      path.join(denied, "r.png"),
      path.join(denied, "missing.png"),
      path.join(root, "out", "users", "carol", "x.png"),
    ]) {
      await expect(resolveAllowedPath(p, options)).rejects.toMatchObject({ kind: "not_allowed" });
    }
  });
});
