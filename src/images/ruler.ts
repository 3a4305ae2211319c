/**
 * Coordinate rulers for preview pictures: where the ticks go and what they say (pure), and the SVG that
 * draws them. Digits are drawn as strokes, not text, so the picture needs no font: a bare server (a
 * Debian container with no fonts) renders the same labels as a desktop.
 */

export type RulerUnits = "px" | "fraction";

export interface Tick {
  /** Position along the picture's edge, in picture pixels from the start of the photo. */
  at: number;
  /** The label, or undefined for a minor tick. */
  label?: string;
}

/** Closest labelled ticks may be to each other on the picture (room for a label such as "0.125"). */
export const MIN_LABEL_SPACING_PX = 48;
/** Closest unlabelled ticks may be. */
const MIN_MINOR_SPACING_PX = 6;

/** The smallest of 1, 2, 5 × 10^k that is ≥ `least`. */
function niceStep(least: number): number {
  const power = 10 ** Math.floor(Math.log10(least));
  for (const m of [1, 2, 5, 10]) if (m * power >= least * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** Decimals needed to print multiples of `step` exactly. */
function decimalsOf(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

/**
 * The ticks for one edge of a view: the view shows image pixels `start .. start + length` (of an image
 * `imageSide` pixels long) over `pictureLength` picture pixels; labels are image pixels or fractions of
 * `imageSide`. Labelled ticks are at least `minSpacing` picture pixels apart, at round values.
 */
export function rulerTicks(
  start: number,
  length: number,
  imageSide: number,
  pictureLength: number,
  units: RulerUnits,
  minSpacing = MIN_LABEL_SPACING_PX,
): Tick[] {
  const perUnit = units === "px" ? 1 : imageSide; // image pixels per unit
  const pictureScale = pictureLength / length; // picture pixels per image pixel
  const least = minSpacing / pictureScale / perUnit; // units between labelled ticks, at least
  const step = Math.max(niceStep(least), units === "px" ? 1 : 0.001);
  const minorCount = [5, 2].find((n) => (step / n) * perUnit * pictureScale >= MIN_MINOR_SPACING_PX) ?? 1;
  const minor = step / minorCount;
  const decimals = units === "px" ? 0 : decimalsOf(step);
  const first = Math.ceil(start / perUnit / minor - 1e-9);
  const last = Math.floor((start + length) / perUnit / minor + 1e-9);
  const ticks: Tick[] = [];
  for (let i = first; i <= last; i++) {
    const value = i * minor;
    const at = (value * perUnit - start) * pictureScale;
    if (i % minorCount === 0) ticks.push({ at, label: value.toFixed(decimals) });
    else ticks.push({ at });
  }
  return ticks;
}

/** Strokes of each character on a 4 × 6 grid (y down), seven-segment style. */
const GLYPHS: Record<string, string> = {
  "0": "M0 0H4V6H0Z",
  "1": "M1 1L2 0V6M1 6H3",
  "2": "M0 0H4V3H0V6H4",
  "3": "M0 0H4V6H0M1 3H4",
  "4": "M0 0V3H4M4 0V6",
  "5": "M4 0H0V3H4V6H0",
  "6": "M4 0H0V6H4V3H0",
  "7": "M0 0H4L1.5 6",
  "8": "M0 0H4V6H0ZM0 3H4",
  "9": "M4 3H0V0H4V6H0",
  ".": "M1.6 5.4H2.4V6H1.6Z",
};

/** Size of the drawn digits: grid units → pixels. */
const GLYPH_SCALE = 1.5;
const GLYPH_ADVANCE = 6 * GLYPH_SCALE;
export const GLYPH_HEIGHT = 6 * GLYPH_SCALE;

/** Width in pixels of a label drawn by `labelPath`. */
export function labelWidth(label: string): number {
  return label.length * GLYPH_ADVANCE - (GLYPH_ADVANCE - 4 * GLYPH_SCALE);
}

/** SVG path data for `label` with its top-left corner at (x, y). */
export function labelPath(label: string, x: number, y: number): string {
  let d = "";
  [...label].forEach((char, i) => {
    const glyph = GLYPHS[char];
    if (glyph === undefined) return;
    const ox = x + i * GLYPH_ADVANCE;
    // Scale and move each number of the glyph: "M0 0H4" at (ox, y) → absolute coordinates.
    d += glyph.replace(/([MLHVZ])([^MLHVZ]*)/g, (_match, command: string, args: string) => {
      const values = args.trim() === "" ? [] : args.trim().split(/\s+/).map(Number);
      if (command === "H") return `H${(ox + values[0]! * GLYPH_SCALE).toFixed(2)}`;
      if (command === "V") return `V${(y + values[0]! * GLYPH_SCALE).toFixed(2)}`;
      if (command === "Z") return "Z";
      return `${command}${(ox + values[0]! * GLYPH_SCALE).toFixed(2)} ${(y + values[1]! * GLYPH_SCALE).toFixed(2)}`;
    });
  });
  return d;
}

/** Space the rulers take: a band along the top and one along the left of the photo. */
export interface RulerMargins {
  top: number;
  left: number;
}

const TICK_MAJOR = 5;
const TICK_MINOR = 2;
const LABEL_GAP = 2;

export function rulerMargins(leftTicks: ReadonlyArray<Tick>): RulerMargins {
  const widest = Math.max(0, ...leftTicks.map((t) => (t.label === undefined ? 0 : labelWidth(t.label))));
  return { top: Math.ceil(GLYPH_HEIGHT + TICK_MAJOR + 2 * LABEL_GAP + 1), left: Math.ceil(widest + TICK_MAJOR + 2 * LABEL_GAP + 1) };
}

/** Colours of the ruler bands: dark digits on white read on any photo next to them. */
export const RULER_BACKGROUND: readonly [number, number, number] = [255, 255, 255];
export const RULER_INK: readonly [number, number, number] = [0, 0, 0];

/**
 * An SVG the size of the whole picture (margins + photo) that draws the two ruler bands with their ticks
 * and labels; transparent over the photo. Ticks touch the photo's edge; each label sits beside its tick.
 */
export function rulerSvg(
  photo: { width: number; height: number },
  margins: RulerMargins,
  top: ReadonlyArray<Tick>,
  left: ReadonlyArray<Tick>,
): string {
  const width = margins.left + photo.width;
  const height = margins.top + photo.height;
  const ink = `rgb(${RULER_INK.join(",")})`;
  let ticks = "";
  let labels = "";
  for (const tick of top) {
    // Through the middle of the picture pixel the value falls in.
    const x = margins.left + Math.min(photo.width - 1, Math.max(0, Math.floor(tick.at))) + 0.5;
    const length = tick.label === undefined ? TICK_MINOR : TICK_MAJOR;
    ticks += `M${x.toFixed(2)} ${margins.top - length}V${margins.top}`;
    if (tick.label !== undefined) {
      // Centred on the tick, kept inside the picture.
      const w = labelWidth(tick.label);
      const lx = Math.min(width - w - 1, Math.max(margins.left - w / 2, x - w / 2));
      labels += labelPath(tick.label, lx, LABEL_GAP);
    }
  }
  for (const tick of left) {
    const y = margins.top + Math.min(photo.height - 1, Math.max(0, Math.floor(tick.at))) + 0.5;
    const length = tick.label === undefined ? TICK_MINOR : TICK_MAJOR;
    ticks += `M${margins.left - length} ${y.toFixed(2)}H${margins.left}`;
    if (tick.label !== undefined) {
      const w = labelWidth(tick.label);
      const ly = Math.min(height - GLYPH_HEIGHT - 1, Math.max(margins.top - GLYPH_HEIGHT / 2, y - GLYPH_HEIGHT / 2));
      labels += labelPath(tick.label, margins.left - TICK_MAJOR - LABEL_GAP - w, ly);
    }
  }
  const background = `rgb(${RULER_BACKGROUND.join(",")})`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect x="0" y="0" width="${width}" height="${margins.top}" fill="${background}"/>`,
    `<rect x="0" y="0" width="${margins.left}" height="${height}" fill="${background}"/>`,
    `<path d="${ticks}" stroke="${ink}" stroke-width="1" fill="none" shape-rendering="crispEdges"/>`,
    `<path d="${labels}" stroke="${ink}" stroke-width="1.2" fill="none" stroke-linejoin="round" stroke-linecap="round"/>`,
    "</svg>",
  ].join("");
}
