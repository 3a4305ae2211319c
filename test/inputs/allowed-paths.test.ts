import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FluxFillError } from "../../src/errors.js";
import { isPermitted, resolveAllowedPath } from "../../src/inputs/allowed-paths.js";

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

describe("resolveAllowedPath: did you mean a file of that name in an allowed directory", () => {
  let base: string;
  let photos: string;
  let elsewhere: string;

  beforeAll(async () => {
    base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "flux-fill-hint-")));
    photos = path.join(base, "photos");
    elsewhere = path.join(base, "elsewhere");
    await fs.mkdir(path.join(photos, "2026", "december", "deep"), { recursive: true });
    await fs.mkdir(path.join(photos, ".hidden"), { recursive: true });
    await fs.mkdir(path.join(photos, "out", "users", "bob"), { recursive: true });
    await fs.mkdir(elsewhere, { recursive: true });
    await fs.writeFile(path.join(photos, "coffee.png"), "x");
    await fs.writeFile(path.join(photos, "2026", "december", "cat.png"), "x");
    await fs.writeFile(path.join(photos, "2026", "december", "deep", "deep.png"), "x");
    await fs.writeFile(path.join(photos, ".hidden", "secret.png"), "x");
    await fs.writeFile(path.join(photos, "out", "users", "bob", "bobs.png"), "x");
  });
  afterAll(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  async function refusal(p: string, options: Parameters<typeof resolveAllowedPath>[1]) {
    const error = await resolveAllowedPath(p, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FluxFillError);
    return error as FluxFillError;
  }

  it("a relative name read from a working folder outside the roots: names the file, not the working folder", async () => {
    const error = await refusal("coffee.png", { cwd: elsewhere, allowedDirs: [photos] });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).toBe(
      `The image file "${path.join(elsewhere, "coffee.png")}" (a relative path is read from the server's working folder, ${elsewhere}) is outside the directories this server may read (${photos}). Did you mean "${path.join(photos, "coffee.png")}"? It is in an allowed directory. Allowed directories are set with FLUX_FILL_ALLOWED_DIRS (separated by "${path.delimiter}").`,
    );
    expect(error.suggestion).toBe(`Pass "${path.join(photos, "coffee.png")}" as the image.`);
    expect(error.message).not.toContain('"env"');
  });

  it("a missing relative name inside a root: found two folders down", async () => {
    const error = await refusal("cat.png", { cwd: photos, allowedDirs: [photos], label: "mask" });
    expect(error.kind).toBe("bad_input");
    expect(error.message).toBe(
      `The mask file "${path.join(photos, "cat.png")}" does not exist (file not found). Did you mean "${path.join(photos, "2026", "december", "cat.png")}"?`,
    );
    expect(error.suggestion).toMatch(/^A file of that name is in an allowed directory: pass ".*cat\.png" as the mask\.$/);
  });

  it("a relative path with folders is tried under each root as given", async () => {
    const error = await refusal(path.join("december", "cat.png"), { cwd: elsewhere, allowedDirs: [path.join(photos, "2026")] });
    expect(error.message).toContain(`Did you mean "${path.join(photos, "2026", "december", "cat.png")}"?`);
  });

  it("an absolute path names one file on purpose: no other file of that name is offered", async () => {
    const error = await refusal(path.join(elsewhere, "Downloads", "coffee.png"), { cwd: elsewhere, allowedDirs: [photos] });
    expect(error.kind).toBe("not_allowed");
    expect(error.message).not.toMatch(/Did you mean/);
    expect(error.message).toContain('"env": { "FLUX_FILL_ALLOWED_DIRS": ');
    const missing = await refusal(path.join(photos, "2026", "coffee.png"), { cwd: elsewhere, allowedDirs: [photos] });
    expect(missing.message).toBe(`The image file "${path.join(photos, "2026", "coffee.png")}" does not exist (file not found).`);
  });

  it("bounded: not three folders down, not in hidden folders, never in a denied directory", async () => {
    const options = { cwd: photos, allowedDirs: [photos], deniedDirs: [path.join(photos, "out", "users")] };
    for (const name of ["deep.png", "secret.png", "bobs.png"]) {
      const error = await refusal(name, options);
      expect(error.kind).toBe("bad_input");
      expect(error.message).not.toMatch(/Did you mean/);
      expect(error.suggestion).toBe(`Check the path; relative paths are resolved against ${photos}.`);
    }
  });
});

describe("resolveAllowedPath: never suggests allowing a system or private folder", () => {
  const home = "/home/flux-fill-test-user";
  // An empty allowed folder: no file of any name there, so no "did you mean" takes the place of the advice.
  let empty: string;
  beforeAll(async () => {
    empty = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "flux-fill-empty-")));
  });
  afterAll(async () => {
    await fs.rm(empty, { recursive: true, force: true });
  });
  const refuse = async (p: string) =>
    (await resolveAllowedPath(p, { cwd: empty, allowedDirs: [empty], home }).then(
      () => undefined,
      (e: unknown) => e,
    )) as FluxFillError;

  it.each(["/etc/passwd", "/etc/ssl/private/key.pem", "/proc/self/environ", "/usr/share/pixmaps/x.png", "/x.png", "/var/log/syslog"])(
    "%s: names the setting, says why the folder is not to be allowed, shows no config line",
    async (p) => {
      const error = await refuse(p);
      expect(error.kind).toBe("not_allowed");
      expect(error.message).toContain("FLUX_FILL_ALLOWED_DIRS");
      expect(error.message).toMatch(/is (a system folder|the root of the file system): do not allow it\.$/);
      expect(error.message).not.toContain('"env"');
      expect(error.suggestion).toMatch(/^Copy the file into one of the allowed directories/);
    },
  );

  it("home itself, and its private folders", async () => {
    expect((await refuse(`${home}/photo.png`)).message).toContain(`${home} is your home folder, which holds private files`);
    expect((await refuse(`${home}/.ssh/id_ed25519`)).message).toContain(`${home}/.ssh is a private folder of your home`);
    expect((await refuse("~/.aws/credentials")).message).toContain(`${home}/.aws is a private folder of your home`);
  });

  it("an ordinary folder is still suggested with the config line", async () => {
    const error = await refuse(`${home}/Pictures/cat.png`);
    expect(error.message).toContain(`"env": { "FLUX_FILL_ALLOWED_DIRS": ${JSON.stringify(`${empty}${path.delimiter}${home}/Pictures`)} }`);
  });
});
