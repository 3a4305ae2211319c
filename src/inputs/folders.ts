import path from "node:path";

/** Pure folder logic for the file-access boundary: containment, and the folders never to suggest allowing. */

type PathApi = Pick<typeof path, "resolve" | "relative" | "isAbsolute" | "sep">;

/**
 * True when `child` is `parent` or lies beneath it (pure, lexical: no symlinks are followed). Both are
 * resolved first, so trailing separators and `..` segments do not matter, and `/tmp/ab` is not inside
 * `/tmp/a`. Case: the win32 flavour compares case-insensitively (as Node's path.win32 does); the posix one
 * is exact, which on case-insensitive macOS volumes is stricter, never looser — callers compare real paths,
 * which the OS returns in one spelling.
 */
export function isPathInside(child: string, parent: string, pathApi: PathApi = path): boolean {
  if (child.includes("\0") || parent.includes("\0")) return false;
  const relative = pathApi.relative(pathApi.resolve(parent), pathApi.resolve(child));
  if (relative === "") return true;
  if (pathApi.isAbsolute(relative)) return false; // another drive on win32
  return relative !== ".." && !relative.startsWith(`..${pathApi.sep}`);
}

/**
 * Folders an error message must never suggest adding to FLUX_FILL_ALLOWED_DIRS: the file system's root,
 * system folders (/etc, /usr, /proc, C:\Windows …), the home folder itself and the folders above it, and the
 * private folders inside home (~/.ssh, ~/.aws, ~/.config, any hidden folder at its top, ~/Library,
 * ~/AppData). Pure: the platform, home and Windows' system drive are parameters, so both flavours are
 * tested on any machine. Lexical (no symlinks followed): callers pass the path they would suggest.
 */

export interface FolderContext {
  platform: "posix" | "win32";
  /** The user's home folder (os.homedir()). */
  home: string;
  /** Windows only: the system drive, as %SystemDrive% gives it ("C:"); default "C:". */
  systemDrive?: string | undefined;
  /** The OS temporary folder (os.tmpdir()): it and its folders may be suggested (macOS keeps it in /var). */
  tempDir?: string | undefined;
}

/** Posix folders whose whole tree is the system's (Linux and macOS). */
const POSIX_SYSTEM_TREES = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/proc",
  "/sys",
  "/dev",
  "/var",
  "/boot",
  "/run",
  "/root",
  "/snap",
  "/System",
  "/Library",
  "/private",
  "/cores",
];

/** Posix folders that hold every user's or every volume's files: too broad as a whole, fine below. */
const POSIX_TOO_BROAD = ["/home", "/Users", "/mnt", "/media", "/Volumes"];

/** Windows folders (under the system drive) whose whole tree is the system's or the installed programs'. */
const WINDOWS_SYSTEM_TREES = ["Windows", "Program Files", "Program Files (x86)", "ProgramData"];

/** Folders inside home that hold keys and settings rather than pictures (hidden folders count too). */
const PRIVATE_IN_HOME = ["Library", "AppData"];

/**
 * Why `dir` must not be suggested as an allowed folder ("a system folder", …), or undefined when it may be.
 */
export function protectedFolderReason(dir: string, context: FolderContext): string | undefined {
  const api = context.platform === "win32" ? path.win32 : path.posix;
  const resolved = api.resolve(dir);
  const home = api.resolve(context.home);
  const inside = (parent: string) => isPathInside(resolved, parent, api);
  const same = (other: string) => inside(other) && isPathInside(other, resolved, api);

  if (resolved === api.parse(resolved).root) {
    return context.platform === "win32" ? "the root of a drive" : "the root of the file system";
  }
  if (context.tempDir !== undefined && inside(context.tempDir) && isNarrowTemp(api.resolve(context.tempDir), context)) {
    return undefined;
  }
  if (inside(home)) {
    if (same(home)) return "your home folder, which holds private files (keys, settings)";
    const top = api.relative(home, resolved).split(api.sep)[0]!;
    const privateFolder =
      top.startsWith(".") || PRIVATE_IN_HOME.some((name) => (context.platform === "win32" ? name.toLowerCase() === top.toLowerCase() : name === top));
    return privateFolder ? "a private folder of your home (keys, settings)" : undefined;
  }
  if (isPathInside(home, resolved, api)) return "a folder above your home folder";
  if (context.platform === "win32") {
    if (WINDOWS_SYSTEM_TREES.some((name) => inside(api.join(systemDriveRoot(context), name)))) return "a system folder";
    return undefined;
  }
  if (POSIX_SYSTEM_TREES.some(inside)) return "a system folder";
  if (POSIX_TOO_BROAD.some(same)) return "a folder holding every user's or every drive's files";
  return undefined;
}

/**
 * A temporary folder that is safe to exempt: not a root, not home or above it, not a system tree or above
 * one (TMPDIR=/var would otherwise exempt all of /var).
 */
function isNarrowTemp(temp: string, context: FolderContext): boolean {
  const api = context.platform === "win32" ? path.win32 : path.posix;
  if (temp === api.parse(temp).root || isPathInside(context.home, temp, api)) return false;
  const trees =
    context.platform === "win32"
      ? WINDOWS_SYSTEM_TREES.map((name) => api.join(systemDriveRoot(context), name))
      : [...POSIX_SYSTEM_TREES, ...POSIX_TOO_BROAD];
  return !trees.some((tree) => isPathInside(tree, temp, api));
}

function systemDriveRoot(context: FolderContext): string {
  return `${(context.systemDrive ?? "C:").replace(/[\\/]+$/, "")}\\`;
}
