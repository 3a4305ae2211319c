import path from "node:path";
import { describe, expect, it } from "vitest";
import { type FolderContext, isPathInside, protectedFolderReason } from "../../src/inputs/folders.js";

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

const linux: FolderContext = { platform: "posix", home: "/home/ana", tempDir: "/tmp" };
const mac: FolderContext = { platform: "posix", home: "/Users/ana", tempDir: "/var/folders/x1/abc/T" };
const rootUser: FolderContext = { platform: "posix", home: "/root", tempDir: "/tmp" };
const windows: FolderContext = {
  platform: "win32",
  home: "C:\\Users\\ana",
  systemDrive: "C:",
  tempDir: "C:\\Users\\ana\\AppData\\Local\\Temp",
};

describe("protectedFolderReason (posix): never suggested", () => {
  it.each([
    ["/", "the root of the file system"],
    ["/etc", "a system folder"],
    ["/etc/", "a system folder"],
    ["/etc/ssl/certs", "a system folder"],
    ["/usr", "a system folder"],
    ["/usr/share/backgrounds", "a system folder"],
    ["/bin", "a system folder"],
    ["/sbin", "a system folder"],
    ["/lib", "a system folder"],
    ["/lib64", "a system folder"],
    ["/proc", "a system folder"],
    ["/proc/self", "a system folder"],
    ["/sys", "a system folder"],
    ["/dev", "a system folder"],
    ["/dev/shm", "a system folder"],
    ["/var", "a system folder"],
    ["/var/log", "a system folder"],
    ["/var/tmp", "a system folder"],
    ["/boot", "a system folder"],
    ["/run", "a system folder"],
    ["/root", "a system folder"],
    ["/root/.ssh", "a system folder"],
    ["/System/Library", "a system folder"],
    ["/Library/Keychains", "a system folder"],
    ["/private/etc", "a system folder"],
    ["/etc/../etc/passwd-dir", "a system folder"],
    ["/tmp/../etc", "a system folder"],
    ["/home/ana", "your home folder, which holds private files (keys, settings)"],
    ["/home/ana/", "your home folder, which holds private files (keys, settings)"],
    ["/home", "a folder above your home folder"],
    ["/home/ana/.ssh", "a private folder of your home (keys, settings)"],
    ["/home/ana/.aws", "a private folder of your home (keys, settings)"],
    ["/home/ana/.gnupg", "a private folder of your home (keys, settings)"],
    ["/home/ana/.config", "a private folder of your home (keys, settings)"],
    ["/home/ana/.config/gcloud", "a private folder of your home (keys, settings)"],
    ["/home/ana/.local/share", "a private folder of your home (keys, settings)"],
    ["/home/ana/.kube", "a private folder of your home (keys, settings)"],
    ["/home/ana/Library", "a private folder of your home (keys, settings)"],
    ["/mnt", "a folder holding every user's or every drive's files"],
    ["/media", "a folder holding every user's or every drive's files"],
  ])("%s: %s", (dir, reason) => {
    expect(protectedFolderReason(dir, linux)).toBe(reason);
  });

  it("macOS: /Users and the home's Library; the temp folder under /var may be suggested, /var itself not", () => {
    expect(protectedFolderReason("/Users", mac)).toBe("a folder above your home folder");
    expect(protectedFolderReason("/Users/ana", mac)).toMatch(/your home folder/);
    expect(protectedFolderReason("/Users/ana/Library/Keychains", mac)).toMatch(/private folder/);
    expect(protectedFolderReason("/Volumes", mac)).toMatch(/every user's or every drive's/);
    expect(protectedFolderReason("/var/folders/x1/abc/T/flux-test", mac)).toBeUndefined();
    expect(protectedFolderReason("/var/folders/x1/abc/T", mac)).toBeUndefined();
    expect(protectedFolderReason("/var/folders", mac)).toBe("a system folder");
    expect(protectedFolderReason("/var", mac)).toBe("a system folder");
  });

  it("running as root: /root is home (its own folders are fine, its hidden ones are not)", () => {
    expect(protectedFolderReason("/root", rootUser)).toMatch(/your home folder/);
    expect(protectedFolderReason("/root/photos", rootUser)).toBeUndefined();
    expect(protectedFolderReason("/root/.ssh", rootUser)).toMatch(/private folder/);
    expect(protectedFolderReason("/", rootUser)).toBe("the root of the file system");
  });

  it("a temporary folder that is broad is no exemption (TMPDIR=/var, TMPDIR=/, TMPDIR=home)", () => {
    expect(protectedFolderReason("/var/log", { ...linux, tempDir: "/var" })).toBe("a system folder");
    expect(protectedFolderReason("/etc", { ...linux, tempDir: "/" })).toBe("a system folder");
    expect(protectedFolderReason("/home/ana/.ssh", { ...linux, tempDir: "/home/ana" })).toMatch(/private folder/);
    expect(protectedFolderReason("/", { ...linux, tempDir: "/" })).toBe("the root of the file system");
  });
});

describe("protectedFolderReason (posix): may be suggested", () => {
  it.each([
    "/home/ana/Pictures",
    "/home/ana/Pictures/2026",
    "/home/ana/photos.d",
    "/home/ana/my.config",
    "/home/bob/shared",
    "/tmp",
    "/tmp/flux-fill-test-abc",
    "/srv/photos",
    "/opt/data/images",
    "/work/shared/data/photos",
    "/mnt/nas/photos",
    "/media/ana/usb",
    "/etcetera",
    "/variable",
    "/usrdata",
  ])("%s", (dir) => {
    expect(protectedFolderReason(dir, linux)).toBeUndefined();
  });
});

describe("protectedFolderReason (win32)", () => {
  it.each([
    ["C:\\", "the root of a drive"],
    ["c:\\", "the root of a drive"],
    ["D:\\", "the root of a drive"],
    ["C:\\Windows", "a system folder"],
    ["c:\\windows\\system32", "a system folder"],
    ["C:\\Windows\\System32\\config", "a system folder"],
    ["C:\\Program Files", "a system folder"],
    ["C:\\Program Files (x86)\\App", "a system folder"],
    ["C:\\ProgramData", "a system folder"],
    ["C:\\Users", "a folder above your home folder"],
    ["C:\\Users\\ana", "your home folder, which holds private files (keys, settings)"],
    ["c:\\users\\ANA", "your home folder, which holds private files (keys, settings)"],
    ["C:\\Users\\ana\\.ssh", "a private folder of your home (keys, settings)"],
    ["C:\\Users\\ana\\AppData\\Roaming", "a private folder of your home (keys, settings)"],
    ["C:\\Users\\ana\\appdata\\local", "a private folder of your home (keys, settings)"],
  ])("%s: %s", (dir, reason) => {
    expect(protectedFolderReason(dir, windows)).toBe(reason);
  });

  it.each([
    "C:\\Users\\ana\\Pictures",
    "C:\\Users\\ana\\OneDrive\\Photos",
    "C:\\Users\\ana\\AppData\\Local\\Temp\\flux",
    "D:\\Photos",
    "C:\\Data\\images",
    "C:\\Windowsill",
  ])("%s may be suggested", (dir) => {
    expect(protectedFolderReason(dir, windows)).toBeUndefined();
  });

  it("uses the system drive it is given", () => {
    const onE = { ...windows, systemDrive: "E:", home: "E:\\Users\\ana", tempDir: undefined };
    expect(protectedFolderReason("E:\\Windows", onE)).toBe("a system folder");
    expect(protectedFolderReason("C:\\Windows", onE)).toBeUndefined();
  });
});
