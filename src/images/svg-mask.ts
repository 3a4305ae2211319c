import sharp from "sharp";
import { FluxFillError } from "../errors.js";
import type { RasterImage } from "./raster.js";
import { maskFromLuminance } from "./mask.js";

/**
 * `mask_svg`: SVG markup written by the model, rendered with sharp (librsvg) at the image's size; white
 * fill = inpaint, everything else (black, transparent) = keep. The markup comes from an untrusted caller,
 * so it is checked first (`checkSvgMarkup`, pure) and refused on anything that could reach outside the
 * document or run code: scripts, event handlers, external references, entity declarations, XInclude.
 * The checks over-refuse on purpose (a mask needs none of these).
 */

/** Longest accepted markup, in characters. */
export const MAX_SVG_CHARS = 200_000;

const SVG_EXAMPLE =
  '<svg viewBox="0 0 1 1"><rect x="0.3" y="0.4" width="0.4" height="0.3" fill="white"/></svg> (viewBox 0 0 1 1 = fractions of the image)';

function svgError(message: string, suggestion = `Give plain shapes filled white, e.g. ${SVG_EXAMPLE}.`): FluxFillError {
  return new FluxFillError("bad_input", message, { suggestion, details: { input: "mask_svg" } });
}

/** Elements that load, embed or run something; none is needed to draw a mask. */
const FORBIDDEN_ELEMENTS = [
  "script",
  "foreignObject",
  "image",
  "iframe",
  "embed",
  "object",
  "audio",
  "video",
  "feImage",
  "handler",
  "listener",
  "include",
  "animate",
  "animateMotion",
  "animateTransform",
  "set",
];

/** Named and numeric XML character references decoded, so `&#104;ttp:` is checked as `http:`. */
export function decodeXmlReferences(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|lt|gt|amp|quot|apos);?/gi, (whole, ref: string) => {
    const lower = ref.toLowerCase();
    if (lower === "lt") return "<";
    if (lower === "gt") return ">";
    if (lower === "amp") return "&";
    if (lower === "quot") return '"';
    if (lower === "apos") return "'";
    const code = lower.startsWith("#x") ? Number.parseInt(lower.slice(2), 16) : Number.parseInt(lower.slice(1), 10);
    return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function checkOne(text: string): void {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw svgError("mask_svg contains a DOCTYPE or ENTITY declaration, which is not accepted (entities can expand or load files).");
  }
  if (/<\?xml-stylesheet/i.test(text)) throw svgError("mask_svg references an external stylesheet (<?xml-stylesheet?>), which is not accepted.");
  for (const name of FORBIDDEN_ELEMENTS) {
    // Any namespace prefix (svg:script, xi:include) and any case.
    const tag = new RegExp(`<\\s*(?:[\\w.-]+:)?${name}(?=[\\s/>])`, "i");
    if (tag.test(text)) throw svgError(`mask_svg contains a <${name}> element, which is not accepted: only shapes, paths, groups, gradients and styles can be used.`);
  }
  const handler = /[\s"'/]on[a-z]+\s*=/i.exec(text);
  if (handler) throw svgError(`mask_svg contains an event handler attribute (${handler[0].trim().replace(/=$/, "")}), which is not accepted.`);
  const hrefs = /(?:^|[\s"'])(?:[\w.-]+:)?href\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi;
  for (const match of text.matchAll(hrefs)) {
    const value = match[1]!.replace(/^["']|["']$/g, "").trim();
    if (!/^#[\w.-]*$/.test(value)) {
      throw svgError(`mask_svg references "${value.slice(0, 60)}"; only links to elements of the same document (href="#id") are accepted.`);
    }
  }
  for (const match of text.matchAll(/url\s*\(\s*([^)]*)\)/gi)) {
    const value = match[1]!.replace(/^["']|["']$/g, "").trim();
    if (!/^#[\w.-]*$/.test(value)) {
      throw svgError(`mask_svg uses url(${value.slice(0, 60)}); only url(#id) references to the same document are accepted.`);
    }
  }
  if (/@import/i.test(text)) throw svgError("mask_svg contains a CSS @import, which is not accepted.");
  // CSS escapes (\75 rl) could spell url( or @import past the checks above.
  if (/\\/.test(text)) throw svgError("mask_svg contains a backslash (CSS escape), which is not accepted in a mask.");
}

/**
 * Throws `bad_input` unless the markup is a plain, self-contained SVG document of acceptable size. Both
 * the text as written and the text with character references decoded are checked.
 */
export function checkSvgMarkup(svg: string): void {
  if (svg.length > MAX_SVG_CHARS) {
    throw svgError(
      `mask_svg is ${svg.length} characters; at most ${MAX_SVG_CHARS} are accepted.`,
      "Simplify the drawing (fewer points), or give the mask as an image file in `mask`.",
    );
  }
  if (!/<\s*(?:[\w.-]+:)?svg[\s>]/i.test(svg)) {
    throw svgError(`mask_svg is not SVG markup: it has no <svg> element. Example: ${SVG_EXAMPLE}.`);
  }
  checkOne(svg);
  const decoded = decodeXmlReferences(svg);
  if (decoded !== svg) checkOne(decoded);
}

/** A length attribute as a number of px when it is a plain number or in px; undefined otherwise (%, em…). */
function pxLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$/i.exec(value);
  return match ? Number(match[1]) : undefined;
}

function attribute(attrs: string, name: string): string | undefined {
  const match = new RegExp(`(?:^|\\s)${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, "i").exec(attrs);
  return match ? (match[2] ?? match[3]) : undefined;
}

/**
 * The markup with the root element sized to `width`×`height` px. A viewBox the caller gave is kept (its
 * coordinates are scaled to the image, e.g. viewBox="0 0 1 1" for fractions); without one, the caller's
 * own width/height (or else the image size) becomes the viewBox, so plain coordinates are image pixels.
 * Without a preserveAspectRatio of the caller's, the viewBox is stretched to the image ("none"): SVG's
 * default (xMidYMid meet) would letterbox a square viewBox on a 3:2 photo, so x=0.5 would not be half-way.
 */
export function sizeSvgRoot(svg: string, width: number, height: number): string {
  const root = /<\s*((?:[\w.-]+:)?svg)(\s[^>]*?)?(\/?)>/i.exec(svg);
  if (!root) throw svgError("mask_svg has no <svg> root element.");
  const attrs = root[2] ?? "";
  const ownWidth = pxLength(attribute(attrs, "width"));
  const ownHeight = pxLength(attribute(attrs, "height"));
  const viewBox = attribute(attrs, "viewBox");
  let rest = attrs.replace(/(^|\s)(width|height)\s*=\s*("[^"]*"|'[^']*')/gi, "");
  if (viewBox === undefined) rest += ` viewBox="0 0 ${ownWidth ?? width} ${ownHeight ?? height}"`;
  if (attribute(attrs, "preserveAspectRatio") === undefined) rest += ' preserveAspectRatio="none"';
  if (!/(^|\s)xmlns\s*=/.test(rest)) rest += ' xmlns="http://www.w3.org/2000/svg"';
  const tag = `<${root[1]}${rest} width="${width}" height="${height}"${root[3]}>`;
  return svg.slice(0, root.index) + tag + svg.slice(root.index + root[0].length);
}

/** Renders checked markup at exactly the image's size and reads it as a mask (luminance × alpha). */
export async function renderSvgMask(svg: string, width: number, height: number): Promise<RasterImage> {
  checkSvgMarkup(svg);
  const sized = sizeSvgRoot(svg, width, height);
  let rendered: { data: Buffer; info: sharp.OutputInfo };
  try {
    rendered = await sharp(Buffer.from(sized, "utf8"), { density: 72, failOn: "error", limitInputPixels: width * height + 1 })
      .resize(width, height, { fit: "fill" })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new FluxFillError("bad_input", `mask_svg could not be rendered: it is not well-formed SVG (${reason}).`, {
      suggestion: `Check that every element is closed and attributes are quoted, e.g. ${SVG_EXAMPLE}.`,
      details: { input: "mask_svg" },
      cause,
    });
  }
  return maskFromLuminance({ data: rendered.data, width: rendered.info.width, height: rendered.info.height, channels: 4 });
}
