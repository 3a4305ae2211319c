import { describe, expect, it } from "vitest";
import { objectStatusFromReply } from "../../src/app/object-reply.js";
import { selectionNotes } from "../../src/images/mask-spec.js";
import { DOUBTFUL_NOTE } from "../../src/images/selection/segmenter.js";

/** A reply's text as open_mask_editor writes it: its fixed lines, then the entry's notes. */
function reply(notes: string[]): string {
  return ["Mask editor for /photos/coffee.png: 600×400 PNG.", "Starting mask from 1 mask_regions entry: 3.3 % of the image.", ...notes].join("\n");
}

describe("objectStatusFromReply", () => {
  it("names the segmenter, its confidence and the paid note, in the person's words", () => {
    const notes = selectionNotes([
      {
        index: 0,
        shape: "object",
        op: "add",
        decided: "segmented",
        reason: "the object segmented by fal's SAM 3: 3.3 % of the image",
        segmenter: "fal",
        confidence: 0.93,
        candidates: 1,
        notes: ["fal's hosted SAM was paid $0.005 (0.5 credit) for this and the photo was sent to fal"],
      },
    ]);
    expect(objectStatusFromReply(reply(notes))).toBe(
      "Object (segmenter fal, confidence 0.93): the object segmented by fal's SAM 3: 3.3 % of the image; fal's hosted SAM was paid $0.005 (0.5 credit) for this and the photo was sent to fal",
    );
  });

  it("keeps a doubtful fall-back's note", () => {
    const notes = selectionNotes([
      {
        index: 0,
        shape: "object",
        op: "add",
        decided: "fallback",
        reason: "colours inside and outside the box overlap too much (separation 0.12); used an ellipse fitted to the box",
        segmenter: "classic",
        confidence: 0.2,
        notes: [DOUBTFUL_NOTE],
      },
    ]);
    const status = objectStatusFromReply(reply(notes));
    expect(status).toMatch(/^Object \(segmenter classic, confidence 0\.20\): colours inside and outside the box overlap too much/);
    expect(status).toContain(DOUBTFUL_NOTE);
  });

  it("says so when the reply has no line about the entry", () => {
    expect(objectStatusFromReply(reply([]))).toMatch(/^Object: selected by the server's segmenter/);
  });
});
