/**
 * The mask editor's Object tool asks the server (open_mask_editor with one object entry) and shows what
 * the reply says about that entry: which segmenter decided, its confidence, and any doubtful, paid or
 * fall-back note. The reply's lines ("Selection: mask_regions[0] (object, segmenter fal, confidence
 * 0.93): …", written by selectionNotes) are put in the person's words ("Object (segmenter fal, …): …").
 * No DOM: the page and its tests share it.
 */

export function objectStatusFromReply(replyText: string): string {
  const lines = replyText
    .split("\n")
    .filter((line) => /^(?:Selection|Note): mask_regions\[0\] /.test(line))
    .map((line) =>
      line.replace(/^(?:Selection|Note): mask_regions\[0\] \(object(?:, ([^)]*))?\)/, (_match, how?: string) =>
        how ? `Object (${how})` : "Object",
      ),
    );
  return lines.length > 0 ? lines.join(" ") : "Object: selected by the server's segmenter (its reply did not say how).";
}
