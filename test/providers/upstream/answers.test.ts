import { describe, expect, it } from "vitest";
import { formatValidationItem, parseJsonBody, upstreamMessage } from "../../../src/providers/upstream/answers.js";

describe("parseJsonBody", () => {
  it("parses JSON and returns undefined for anything else", () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonBody("<html>")).toBeUndefined();
    expect(parseJsonBody("")).toBeUndefined();
    expect(parseJsonBody("  ")).toBeUndefined();
  });
});

describe("formatValidationItem", () => {
  it("drops the leading body and joins the location", () => {
    expect(
      formatValidationItem({ loc: ["body", "steps"], msg: "Input should be less than or equal to 50", type: "x" }),
    ).toBe("steps: Input should be less than or equal to 50");
    expect(formatValidationItem({ loc: ["body", "a", 0, "b"], msg: "m" })).toBe("a.0.b: m");
    expect(formatValidationItem({ loc: ["query", "id"], msg: "m" })).toBe("query.id: m");
  });

  it("copes with items without loc or msg", () => {
    expect(formatValidationItem({ msg: "only message" })).toBe("only message");
    expect(formatValidationItem({ loc: ["body"], msg: "whole body" })).toBe("whole body");
    expect(formatValidationItem("plain")).toBe('"plain"');
    expect(formatValidationItem({ loc: ["body", "x"] })).toBe('x: {"loc":["body","x"]}');
  });
});

describe("upstreamMessage", () => {
  it("reads detail as a string", () => {
    expect(upstreamMessage({ detail: "Insufficient credits" }, "")).toBe("Insufficient credits");
  });

  it("joins a FastAPI validation list", () => {
    const body = {
      detail: [
        { loc: ["body", "image"], msg: "Field required", type: "missing" },
        { loc: ["body", "guidance"], msg: "Input should be greater than or equal to 1.5", type: "greater_than_equal" },
      ],
    };
    expect(upstreamMessage(body, "")).toBe(
      "image: Field required; guidance: Input should be greater than or equal to 1.5",
    );
  });

  it("reads a nested detail object, then message, then error", () => {
    expect(upstreamMessage({ detail: { message: "nested" } }, "")).toBe("nested");
    expect(upstreamMessage({ detail: { code: 7 } }, "")).toBe('{"code":7}');
    expect(upstreamMessage({ message: "by message" }, "")).toBe("by message");
    expect(upstreamMessage({ error: "by error" }, "")).toBe("by error");
  });

  it("falls back to the raw text without tags, whitespace collapsed and clipped", () => {
    expect(upstreamMessage(undefined, "<html><h1>Bad\n  Gateway</h1></html>")).toBe("Bad Gateway");
    const long = upstreamMessage(undefined, "x".repeat(2000));
    expect(long).toHaveLength(501);
    expect(long?.endsWith("…")).toBe(true);
  });

  it("is undefined when there is nothing to say", () => {
    expect(upstreamMessage(undefined, "")).toBeUndefined();
    expect(upstreamMessage({ detail: "  " }, "   ")).toBeUndefined();
    expect(upstreamMessage({}, "")).toBeUndefined();
  });
});
