/**
 * Just enough Markdown for checking docs: the link targets a page points at and the anchors its headings
 * get on GitHub. Fenced code and inline code are not prose, so their brackets are no links.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

/** The page's lines outside fenced code blocks (``` or ~~~). */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) fence = marker[0];
    else if (fence !== undefined && marker?.[0] === fence) fence = undefined;
    else if (fence === undefined) lines.push(line);
  }
  return lines;
}

const withoutCodeSpans = (line: string) => line.replace(/(`+)(.+?)\1/g, (_span, _ticks, code: string) => code.replace(/[[\]()]/g, " "));

/** The anchor GitHub gives a heading's text (github-slugger's rule: lower case, punctuation dropped, spaces → -). */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/[`*]/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a page offers: its ATX headings (duplicates numbered as GitHub does) and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const slug = githubSlug(heading);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const match of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1] as string);
  }
  return anchors;
}

/** The targets of inline links and images (`](target)`), reference definitions and HTML src/href. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const raw of proseLines(markdown)) {
    const line = withoutCodeSpans(raw);
    for (const match of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1] as string);
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line)?.[1];
    if (definition) targets.push(definition);
    for (const match of line.matchAll(/\b(?:src|href)="([^"]+)"/g)) targets.push(match[1] as string);
  }
  return targets;
}

export interface BrokenLink {
  page: string;
  target: string;
  problem: string;
}

/** Relative links of `page` whose file is missing or whose `#anchor` is not on the page it names. */
export async function brokenLinks(page: string): Promise<{ checked: number; broken: BrokenLink[] }> {
  const broken: BrokenLink[] = [];
  let checked = 0;
  const anchorCache = new Map<string, Set<string>>();
  for (const target of linkTargets(await readFile(page, "utf8"))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // http:, mailto:, data:
    checked++;
    const [filePart = "", anchor] = target.split("#", 2);
    const file = filePart === "" ? page : path.resolve(path.dirname(page), decodeURIComponent(filePart));
    const found = await stat(file).then(
      () => true,
      () => false,
    );
    if (!found) {
      broken.push({ page, target, problem: `no file ${path.relative(path.dirname(page), file)}` });
      continue;
    }
    if (anchor === undefined || anchor === "") continue;
    if (!file.endsWith(".md")) {
      broken.push({ page, target, problem: "an #anchor on a file that is not Markdown" });
      continue;
    }
    let anchors = anchorCache.get(file);
    if (!anchors) {
      anchors = anchorsOf(await readFile(file, "utf8"));
      anchorCache.set(file, anchors);
    }
    if (!anchors.has(decodeURIComponent(anchor))) broken.push({ page, target, problem: `no heading #${anchor}` });
  }
  return { checked, broken };
}

/** README.md, CHANGELOG.md (if there is one) and every .md under docs/ (if there is one). */
export async function docPages(root: string): Promise<string[]> {
  const pages = [path.join(root, "README.md")];
  const changelog = path.join(root, "CHANGELOG.md");
  if (await stat(changelog).then((s) => s.isFile(), () => false)) pages.push(changelog);
  const docs = path.join(root, "docs");
  const entries = await readdir(docs, { recursive: true }).catch(() => [] as string[]);
  for (const entry of entries.sort()) if (entry.endsWith(".md")) pages.push(path.join(docs, entry));
  return pages;
}
