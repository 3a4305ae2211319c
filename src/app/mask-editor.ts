/// <reference lib="dom" />
/**
 * The mask editor page (MCP Apps view). Built into one self-contained HTML file by src/app/build.ts.
 * It runs under the host's default CSP: no network, images only as data: URLs, so everything it shows
 * arrives in tool results through the host, and the mask leaves as a PNG data: URI in flux_fill's `mask`.
 */
import { App, applyDocumentTheme, applyHostFonts, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { BOX_SLACK } from "../images/selection/box-clip.js";
import { selectObject as selectBundledObject } from "../images/selection/object.js";
import type { SelectionImage, Selection } from "../images/selection/types.js";
import { selectWand, WAND_DEFAULT_TOLERANCE } from "../images/selection/wand.js";
import type { OpenMaskEditorOutput } from "../tools/open-mask-editor.js";
import { objectStatusFromReply } from "./object-reply.js";
import {
  addSelection,
  type Box,
  blackWhitePixels,
  clearMask,
  createMask,
  formatCoverage,
  INPAINT,
  invertMask,
  KEEP,
  type Mask,
  maskCoverage,
  maskFromRgba,
  overlayPixels,
  type Point,
  paintEllipse,
  paintRect,
  paintStroke,
  rgbFromRgba,
  scaleBox,
  UndoHistory,
  viewToMask,
} from "./mask-math.js";

type Tool = "brush" | "eraser" | "rect" | "ellipse" | "object" | "wand";
type ImageBlock = { type: "image"; data: string; mimeType: string };
type HostContext = ReturnType<App["getHostContext"]>;

const OVERLAY_COLOUR: [number, number, number] = [255, 0, 220]; // magenta: rare in photos, visible on sky and grass
const OVERLAY_ALPHA = 0.55;
const FILL_TIMEOUT_MS = 330_000;
/** The server gives a hosted segmentation up to 120 s (src/segmentation/index.ts), plus reading the photo. */
const SELECT_TIMEOUT_MS = 150_000;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`mask editor: #${id} is missing from the page`);
  return element as T;
}

const ui = {
  main: byId<HTMLElement>("app"),
  status: byId<HTMLParagraphElement>("status"),
  editor: byId<HTMLElement>("editor"),
  photo: byId<HTMLImageElement>("photo"),
  canvas: byId<HTMLCanvasElement>("mask-canvas"),
  guide: byId<HTMLCanvasElement>("guide-canvas"),
  size: byId<HTMLInputElement>("brush-size"),
  sizeValue: byId<HTMLOutputElement>("brush-size-value"),
  objectName: byId<HTMLElement>("object-name"),
  objectText: byId<HTMLInputElement>("object-text"),
  objectFind: byId<HTMLButtonElement>("object-find"),
  invert: byId<HTMLButtonElement>("invert"),
  clear: byId<HTMLButtonElement>("clear"),
  undo: byId<HTMLButtonElement>("undo"),
  coverage: byId<HTMLOutputElement>("coverage"),
  prompt: byId<HTMLTextAreaElement>("prompt"),
  apply: byId<HTMLButtonElement>("apply"),
  result: byId<HTMLElement>("result"),
  compare: byId<HTMLElement>("compare"),
  before: byId<HTMLImageElement>("before"),
  after: byId<HTMLImageElement>("after"),
  slider: byId<HTMLInputElement>("compare-slider"),
  showBefore: byId<HTMLButtonElement>("show-before"),
  showAfter: byId<HTMLButtonElement>("show-after"),
  savedPath: byId<HTMLElement>("saved-path"),
  notes: byId<HTMLParagraphElement>("result-notes"),
  editAgain: byId<HTMLButtonElement>("edit-again"),
  tools: Array.from(document.querySelectorAll<HTMLButtonElement>("button[data-tool]")),
};

const state = {
  mask: createMask(1, 1),
  imageSize: { width: 1, height: 1 },
  imageRef: undefined as string | undefined,
  toolArgs: undefined as Record<string, unknown> | undefined,
  /**
   * The mask_id the editor was opened with, and the mask it started from: applied unchanged, the fill
   * sends the id, so the upstream gets exactly the previewed mask (soft edges and full resolution kept).
   */
  startMaskId: undefined as string | undefined,
  startMask: undefined as Mask | undefined,
  history: new UndoHistory(20),
  /** The photo at the mask's size, for the wand and the in-page Object fallback (read from the page's picture once). */
  photoRgb: undefined as SelectionImage | undefined,
  tool: "brush" as Tool,
  busy: false,
  /** Last point of the stroke being painted (pointer or keyboard). */
  strokeLast: undefined as Point | undefined,
  shapeAnchor: undefined as Point | undefined,
  shapeCurrent: undefined as Point | undefined,
  keyboardCursor: undefined as Point | undefined,
  spaceHeld: false,
};

const overlay = ui.canvas.getContext("2d");
const guide = ui.guide.getContext("2d");
if (!overlay || !guide) throw new Error("mask editor: canvas 2D is not available");

function setStatus(text: string, kind: "info" | "error" = "info"): void {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", kind === "error");
  ui.status.setAttribute("role", kind === "error" ? "alert" : "status");
}

function textOf(result: CallToolResult): string {
  return result.content
    .filter((block): block is { type: "text"; text: string } => block.type === "text")
    .map((block) => block.text)
    .join("\n");
}

function imagesOf(result: CallToolResult): ImageBlock[] {
  return result.content.filter((block): block is ImageBlock => block.type === "image");
}

function dataUrl(block: ImageBlock): string {
  return `data:${block.mimeType};base64,${block.data}`;
}

async function loadImage(img: HTMLImageElement, src: string): Promise<void> {
  img.src = src;
  await img.decode();
}

// ---- drawing -------------------------------------------------------------------------------------

function render(box: Box | null): void {
  if (!box) return;
  const pixels = overlayPixels(state.mask, box, OVERLAY_COLOUR, OVERLAY_ALPHA);
  overlay!.putImageData(new ImageData(pixels, box.width, box.height), box.x, box.y);
}

function renderAll(): void {
  render({ x: 0, y: 0, width: state.mask.width, height: state.mask.height });
}

/** Mask pixels per CSS pixel of the displayed canvas. */
function maskPixelsPerCssPixel(): number {
  const rect = ui.canvas.getBoundingClientRect();
  return rect.width > 0 ? state.mask.width / rect.width : 1;
}

function brushRadius(): number {
  return (Number(ui.size.value) / 2) * maskPixelsPerCssPixel();
}

/** The brush outline, the keyboard cursor and the shape being drawn, on a canvas above the mask. */
function drawGuide(): void {
  const g = guide!;
  g.clearRect(0, 0, ui.guide.width, ui.guide.height);
  const line = Math.max(1, maskPixelsPerCssPixel() * 1.5);
  g.lineWidth = line;
  const anchor = state.shapeAnchor;
  const current = state.shapeCurrent ?? state.keyboardCursor;
  if (anchor && current) {
    g.setLineDash([line * 4, line * 3]);
    g.strokeStyle = "#ffffff";
    g.beginPath();
    if (state.tool === "rect" || state.tool === "object") {
      g.rect(
        Math.min(anchor.x, current.x),
        Math.min(anchor.y, current.y),
        Math.abs(current.x - anchor.x),
        Math.abs(current.y - anchor.y),
      );
    } else {
      g.ellipse(
        (anchor.x + current.x) / 2,
        (anchor.y + current.y) / 2,
        Math.abs(current.x - anchor.x) / 2,
        Math.abs(current.y - anchor.y) / 2,
        0,
        0,
        Math.PI * 2,
      );
    }
    g.stroke();
    g.setLineDash([]);
  }
  const cursor = state.keyboardCursor;
  if (cursor && document.activeElement === ui.canvas) {
    const r = state.tool === "brush" || state.tool === "eraser" ? brushRadius() : line * 4;
    g.strokeStyle = "#000000";
    g.beginPath();
    g.arc(cursor.x, cursor.y, r + line, 0, Math.PI * 2);
    g.stroke();
    g.strokeStyle = "#ffffff";
    g.beginPath();
    g.arc(cursor.x, cursor.y, r, 0, Math.PI * 2);
    g.stroke();
  }
}

function refreshCounters(): void {
  ui.coverage.textContent = formatCoverage(maskCoverage(state.mask));
  ui.undo.disabled = state.busy || state.history.size === 0;
}

// ---- editing -------------------------------------------------------------------------------------

function selectTool(tool: Tool): void {
  state.tool = tool;
  state.shapeAnchor = undefined;
  state.shapeCurrent = undefined;
  for (const button of ui.tools) button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  ui.objectName.hidden = tool !== "object";
  drawGuide();
}

function strokeValue(): typeof INPAINT | typeof KEEP {
  return state.tool === "eraser" ? KEEP : INPAINT;
}

/** Adds a selection (one byte per pixel at the mask's size), only inside `within` when given, as one undo step. */
function addToMask(selected: ArrayLike<number>, status: string, within?: Box): void {
  state.history.record(state.mask);
  const box = addSelection(state.mask, selected, within);
  if (box) render(box);
  else state.history.undo(state.mask); // nothing new selected: leave no empty undo step
  refreshCounters();
  setStatus(status);
}

/**
 * Adds what the wand (or the Object tool's in-page fallback) selected: the server's selection code,
 * bundled, on the page's picture at the mask's size; says what decided.
 */
function applySelection(select: (photo: SelectionImage) => Selection, what: string): void {
  if (!state.photoRgb) return;
  const selection = select(state.photoRgb);
  addToMask(selection.mask, `${what}: ${selection.reason}`);
}

/** An image box grown by the slack the server's segmenters keep around a box prompt (box-clip.ts). */
function withSlack(box: Box): Box {
  const [sx, sy] = [box.width * BOX_SLACK, box.height * BOX_SLACK];
  return { x: box.x - sx, y: box.y - sy, width: box.width + 2 * sx, height: box.height + 2 * sy };
}

/**
 * Why the Object tool cannot ask the server's segmenter, or undefined when it can: the server reads the
 * photo again from its reference, and the host must pass the page's tool calls on.
 */
function objectFallbackReason(): string | undefined {
  if (!state.imageRef) return "the image came inline and the page has no reference to it";
  if (!app.getHostCapabilities()?.serverTools) return "this host does not let the page call the server";
  return undefined;
}

/**
 * The Object tool: the server's segmenter (FLUX_FILL_SEGMENTER: classic, onnx or fal, with its mask cache
 * and paid-call accounting) selects in the dragged box, or finds the object named in the Name field (with
 * or without a box), through open_mask_editor, whose second image is the selection at the editor's size.
 * Only when the server cannot be asked does the page run its bundled classic selection (a box only), and
 * the status line says so.
 */
async function selectObject(box: Box | undefined): Promise<void> {
  const text = ui.objectText.value.trim();
  const fallback = objectFallbackReason();
  if (fallback !== undefined) {
    if (text) {
      setStatus(
        `Object: the page's own selection cannot read "${text}" (${fallback}); clear the name and drag a box around the object.`,
        "error",
      );
    } else if (box) {
      applySelection((photo) => selectBundledObject(photo, box), `Object (classic, in this page: ${fallback})`);
    }
    return;
  }
  const pixels = box && scaleBox(box, state.mask, state.imageSize);
  if (box && !pixels) return;
  if (!pixels && !text) {
    setStatus("Object: type the object's name first, or drag a box around it.", "error");
    ui.objectText.focus();
    return;
  }
  setBusy(true);
  setStatus(
    text
      ? `Object: the server's segmenter is looking for "${text}"${pixels ? " in the box" : ""}…`
      : "Object: the server's segmenter is selecting in the box…",
  );
  try {
    const entry = { shape: "object", ...(pixels ?? {}), ...(text ? { text } : {}) };
    const result = await app.callServerTool(
      { name: "open_mask_editor", arguments: { image: state.imageRef, mask_regions: [entry], units: "px" } },
      { timeout: SELECT_TIMEOUT_MS },
    );
    if (result.isError) {
      setStatus(`Object: the server could not select it. ${textOf(result)}`, "error");
      return;
    }
    const picture = imagesOf(result)[1];
    if (!picture) {
      setStatus("Object: the server's reply has no selection picture; nothing was added.", "error");
      return;
    }
    const selected = await maskFromPicture(dataUrl(picture), state.mask.width, state.mask.height);
    // Only inside the box with the server's own slack (what a segmenter may keep past it): the reply's mask
    // also holds a transparent image's own area, loaded when the editor opened.
    const within = pixels ? (scaleBox(withSlack(pixels), state.imageSize, state.mask) ?? undefined) : undefined;
    addToMask(selected.data, objectStatusFromReply(textOf(result)), within);
  } catch (error) {
    setStatus(
      `Object: the server's segmenter did not answer: ${error instanceof Error ? error.message : String(error)}`,
      "error",
    );
  } finally {
    setBusy(false);
  }
}

function beginEdit(point: Point): void {
  if (state.tool === "wand") {
    applySelection(
      (photo) =>
        selectWand(
          photo,
          [Math.min(point.x, photo.width - 0.5), Math.min(point.y, photo.height - 0.5)],
          WAND_DEFAULT_TOLERANCE,
          true,
        ),
      "Magic wand",
    );
  } else if (state.tool === "brush" || state.tool === "eraser") {
    state.history.record(state.mask);
    state.strokeLast = point;
    render(paintStroke(state.mask, [point], brushRadius(), strokeValue()));
  } else {
    state.shapeAnchor = point;
    state.shapeCurrent = point;
    drawGuide();
  }
}

function continueEdit(point: Point): void {
  if (state.strokeLast) {
    render(paintStroke(state.mask, [state.strokeLast, point], brushRadius(), strokeValue()));
    state.strokeLast = point;
  } else if (state.shapeAnchor) {
    state.shapeCurrent = point;
    drawGuide();
  }
}

function finishEdit(point: Point): void {
  if (state.strokeLast) {
    state.strokeLast = undefined;
  } else if (state.shapeAnchor && state.tool === "object") {
    const anchor = state.shapeAnchor;
    state.shapeAnchor = undefined;
    state.shapeCurrent = undefined;
    drawGuide();
    const box = {
      x: Math.min(anchor.x, point.x),
      y: Math.min(anchor.y, point.y),
      width: Math.abs(point.x - anchor.x),
      height: Math.abs(point.y - anchor.y),
    };
    if (box.width >= 2 && box.height >= 2) void selectObject(box);
  } else if (state.shapeAnchor) {
    state.history.record(state.mask);
    const paint = state.tool === "rect" ? paintRect : paintEllipse;
    const box = paint(state.mask, state.shapeAnchor, point, INPAINT);
    if (box) render(box);
    else state.history.undo(state.mask); // nothing drawn: leave no empty undo step
    state.shapeAnchor = undefined;
    state.shapeCurrent = undefined;
    drawGuide();
  }
  refreshCounters();
}

function wholeMaskAction(action: (mask: Mask) => Box, message: string): void {
  if (state.busy) return;
  state.history.record(state.mask);
  render(action(state.mask));
  refreshCounters();
  setStatus(message);
}

function undo(): void {
  if (state.busy) return;
  if (state.history.undo(state.mask)) {
    renderAll();
    setStatus("Undone.");
  }
  refreshCounters();
}

function changeBrushSize(delta: number): void {
  const next = Math.max(Number(ui.size.min), Math.min(Number(ui.size.max), Number(ui.size.value) + delta));
  ui.size.value = String(next);
  ui.sizeValue.textContent = String(next);
  drawGuide();
}

// ---- pointer input -------------------------------------------------------------------------------

function pointFromEvent(event: PointerEvent): Point {
  const rect = ui.canvas.getBoundingClientRect();
  return viewToMask(event.clientX - rect.left, event.clientY - rect.top, rect, state.mask);
}

ui.canvas.addEventListener("pointerdown", (event) => {
  if (state.busy || event.button !== 0) return;
  event.preventDefault();
  ui.canvas.setPointerCapture(event.pointerId);
  ui.canvas.focus({ preventScroll: true });
  state.keyboardCursor = undefined;
  beginEdit(pointFromEvent(event));
});
ui.canvas.addEventListener("pointermove", (event) => {
  if (!ui.canvas.hasPointerCapture(event.pointerId)) return;
  const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
  for (const each of events.length > 0 ? events : [event]) continueEdit(pointFromEvent(each));
});
const endPointer = (event: PointerEvent) => {
  if (!ui.canvas.hasPointerCapture(event.pointerId)) return;
  ui.canvas.releasePointerCapture(event.pointerId);
  finishEdit(pointFromEvent(event));
};
ui.canvas.addEventListener("pointerup", endPointer);
ui.canvas.addEventListener("pointercancel", endPointer);

// ---- keyboard input ------------------------------------------------------------------------------

function cursorOrCentre(): Point {
  state.keyboardCursor ??= { x: state.mask.width / 2, y: state.mask.height / 2 };
  return state.keyboardCursor;
}

function describePoint(p: Point): string {
  const sx = state.imageSize.width / state.mask.width;
  const sy = state.imageSize.height / state.mask.height;
  return `${Math.round(p.x * sx)}, ${Math.round(p.y * sy)}`;
}

const ARROWS: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

ui.canvas.addEventListener("keydown", (event) => {
  if (state.busy) return;
  const arrow = ARROWS[event.key];
  if (arrow) {
    event.preventDefault();
    const step = Math.max(1, Math.round(Math.max(state.mask.width, state.mask.height) / (event.shiftKey ? 10 : 50)));
    const from = cursorOrCentre();
    const to = {
      x: Math.max(0, Math.min(state.mask.width, from.x + arrow[0] * step)),
      y: Math.max(0, Math.min(state.mask.height, from.y + arrow[1] * step)),
    };
    state.keyboardCursor = to;
    if (state.spaceHeld && state.strokeLast) continueEdit(to);
    else if (state.shapeAnchor) state.shapeCurrent = to;
    drawGuide();
    return;
  }
  if (event.key === " " || event.key === "Enter") {
    event.preventDefault();
    if (event.repeat) return;
    const at = cursorOrCentre();
    if (state.tool === "wand") {
      beginEdit(at);
    } else if (state.tool === "brush" || state.tool === "eraser") {
      state.spaceHeld = event.key === " ";
      beginEdit(at);
      if (!state.spaceHeld) finishEdit(at);
      setStatus(`${state.tool === "brush" ? "Painted" : "Erased"} at ${describePoint(at)}.`);
    } else if (!state.shapeAnchor) {
      beginEdit(at);
      setStatus(`Corner set at ${describePoint(at)}: move with the arrow keys, then press Space again.`);
    } else {
      const tool = state.tool;
      finishEdit(at);
      if (tool !== "object") setStatus(`${tool === "rect" ? "Rectangle" : "Ellipse"} added.`);
    }
    drawGuide();
    return;
  }
  if (event.key === "Escape" && state.shapeAnchor) {
    event.preventDefault();
    state.shapeAnchor = undefined;
    state.shapeCurrent = undefined;
    drawGuide();
    setStatus("Shape cancelled.");
  }
});
ui.canvas.addEventListener("keyup", (event) => {
  if (event.key === " " && state.spaceHeld) {
    state.spaceHeld = false;
    finishEdit(cursorOrCentre());
  }
});
ui.canvas.addEventListener("focus", () => {
  cursorOrCentre();
  drawGuide();
});
ui.canvas.addEventListener("blur", () => {
  if (state.spaceHeld) {
    state.spaceHeld = false;
    finishEdit(cursorOrCentre());
  }
  drawGuide();
});

/** Shortcuts anywhere except while typing. */
document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement | null;
  if (state.busy || ui.editor.hidden || event.altKey) return;
  if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target !== ui.size))) return;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "z") {
    event.preventDefault();
    undo();
    return;
  }
  if (event.ctrlKey || event.metaKey) return;
  const tools: Record<string, Tool> = { b: "brush", e: "eraser", r: "rect", o: "ellipse", s: "object", w: "wand" };
  const tool = tools[key];
  if (tool) selectTool(tool);
  else if (key === "[") changeBrushSize(-4);
  else if (key === "]") changeBrushSize(4);
  else if (key === "i") wholeMaskAction(invertMask, "Mask inverted.");
  else if (key === "c" && event.shiftKey) wholeMaskAction(clearMask, "Mask cleared.");
  else if (key === "u") undo();
  else return;
  event.preventDefault();
});

for (const button of ui.tools) button.addEventListener("click", () => selectTool(button.dataset.tool as Tool));
ui.size.addEventListener("input", () => {
  ui.sizeValue.textContent = ui.size.value;
  drawGuide();
});
ui.objectFind.addEventListener("click", () => void selectObject(undefined));
ui.objectText.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || state.busy) return;
  event.preventDefault();
  void selectObject(undefined);
});
ui.invert.addEventListener("click", () => wholeMaskAction(invertMask, "Mask inverted."));
ui.clear.addEventListener("click", () => wholeMaskAction(clearMask, "Mask cleared."));
ui.undo.addEventListener("click", undo);

// ---- loading the tool result ---------------------------------------------------------------------

function isEditorOutput(value: unknown): value is OpenMaskEditorOutput {
  const v = value as Partial<OpenMaskEditorOutput> | undefined;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.width === "number" &&
    typeof v.height === "number" &&
    typeof v.editor_mask?.width === "number" &&
    typeof v.editor_mask?.height === "number"
  );
}

/** Draws a mask picture at the editor's resolution and reads it back as a mask. */
async function maskFromPicture(src: string, width: number, height: number): Promise<Mask> {
  const picture = new Image();
  await loadImage(picture, src);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  context.imageSmoothingEnabled = false;
  context.drawImage(picture, 0, 0, width, height);
  return maskFromRgba(context.getImageData(0, 0, width, height).data, width, height);
}

/** The page's picture drawn at the mask's size, as RGB for the selection tools. */
function photoPixels(picture: HTMLImageElement, width: number, height: number): SelectionImage {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  context.drawImage(picture, 0, 0, width, height);
  return rgbFromRgba(context.getImageData(0, 0, width, height).data, width, height);
}

async function loadEditor(result: CallToolResult): Promise<void> {
  if (result.isError) {
    setStatus(textOf(result) || "The editor could not open this image.", "error");
    return;
  }
  const structured = result.structuredContent;
  const images = imagesOf(result);
  const photo = images[0];
  if (!isEditorOutput(structured) || !photo) {
    setStatus("The tool result has no image to edit.", "error");
    return;
  }
  const toolImage = state.toolArgs?.image;
  state.imageRef = structured.image ?? (typeof toolImage === "string" ? toolImage : undefined);
  state.imageSize = { width: structured.width, height: structured.height };
  const { width, height } = structured.editor_mask;
  await loadImage(ui.photo, dataUrl(photo));
  const start = images[1];
  state.mask =
    structured.start_mask_coverage !== null && start
      ? await maskFromPicture(dataUrl(start), width, height)
      : createMask(width, height);
  const maskId = state.toolArgs?.mask_id;
  state.startMaskId = typeof maskId === "string" && structured.start_mask_coverage !== null ? maskId : undefined;
  state.startMask = state.startMaskId === undefined ? undefined : { ...state.mask, data: state.mask.data.slice() };
  state.history.clear();
  for (const canvas of [ui.canvas, ui.guide]) {
    canvas.width = width;
    canvas.height = height;
  }
  state.photoRgb = photoPixels(ui.photo, width, height);
  ui.photo.alt = `Scene to edit (${structured.width}×${structured.height} pixels)`;
  renderAll();
  refreshCounters();
  if (structured.prompt && !ui.prompt.value) ui.prompt.value = structured.prompt;
  ui.editor.hidden = false;
  ui.main.setAttribute("aria-busy", "false");
  setStatus(
    state.imageRef
      ? `Paint the area to change on the ${structured.width}×${structured.height} image, describe it, then apply.`
      : "The image was given inline and its reference is not available: the fill cannot be applied from here.",
    state.imageRef ? "info" : "error",
  );
}

// ---- applying the fill ---------------------------------------------------------------------------

/** The painted mask at the image's full size as a PNG data: URI (white = inpaint). */
function exportMask(): string {
  const { mask, imageSize } = state;
  const working = document.createElement("canvas");
  working.width = mask.width;
  working.height = mask.height;
  working.getContext("2d")!.putImageData(new ImageData(blackWhitePixels(mask), mask.width, mask.height), 0, 0);
  if (mask.width === imageSize.width && mask.height === imageSize.height) return working.toDataURL("image/png");
  const full = document.createElement("canvas");
  full.width = imageSize.width;
  full.height = imageSize.height;
  const context = full.getContext("2d")!;
  context.imageSmoothingEnabled = false; // keep the mask binary
  context.drawImage(working, 0, 0, imageSize.width, imageSize.height);
  return full.toDataURL("image/png");
}

function setBusy(busy: boolean): void {
  state.busy = busy;
  ui.apply.disabled = busy;
  for (const control of [ui.invert, ui.clear, ui.prompt, ui.objectText, ui.objectFind, ...ui.tools]) {
    control.disabled = busy;
  }
  ui.main.setAttribute("aria-busy", String(busy));
  refreshCounters();
}

function setSplit(percent: number): void {
  ui.slider.value = String(percent);
  ui.compare.style.setProperty("--split", `${percent}%`);
}

async function showResult(result: CallToolResult): Promise<void> {
  const structured = (result.structuredContent ?? {}) as { path?: unknown; uri?: unknown };
  const image = imagesOf(result)[0];
  if (!image) {
    setStatus("flux_fill answered without a preview image.", "error");
    return;
  }
  ui.before.src = ui.photo.src;
  await loadImage(ui.after, dataUrl(image));
  ui.savedPath.textContent = typeof structured.path === "string" ? structured.path : "(not reported)";
  ui.notes.textContent = textOf(result).split("\n")[0] ?? "";
  setSplit(50);
  ui.editor.hidden = true;
  ui.result.hidden = false;
  setStatus("Done. Drag the slider (or use the arrow keys on it) to compare before and after.");
  ui.slider.focus();
}

async function tellTheModel(prompt: string, result: CallToolResult): Promise<void> {
  if (!app.getHostCapabilities()?.updateModelContext) return;
  const structured = (result.structuredContent ?? {}) as { path?: unknown; uri?: unknown };
  const text =
    `In the mask editor the user painted ${ui.coverage.textContent} of the image and applied flux_fill` +
    `${prompt ? ` with the prompt "${prompt}"` : " without a prompt"}. ` +
    `The result is saved at ${String(structured.path)} (${String(structured.uri)}).`;
  try {
    await app.updateModelContext({ content: [{ type: "text", text }] });
  } catch {
    // Optional: hosts may refuse context updates.
  }
}

async function applyFill(): Promise<void> {
  if (state.busy) return;
  if (!state.imageRef) {
    setStatus("The image reference is not available, so the fill cannot be applied from the editor.", "error");
    return;
  }
  if (maskCoverage(state.mask) === 0) {
    setStatus("Paint the area to change first: the mask is empty.", "error");
    ui.canvas.focus();
    return;
  }
  const prompt = ui.prompt.value.trim();
  setBusy(true);
  setStatus("Inpainting… this usually takes 5–30 seconds.");
  try {
    const unchanged =
      state.startMaskId !== undefined && state.startMask?.data.every((v, i) => v === state.mask.data[i]) === true;
    const args: Record<string, unknown> = unchanged
      ? { image: state.imageRef, mask_id: state.startMaskId }
      : { image: state.imageRef, mask: exportMask() };
    if (prompt) args.prompt = prompt;
    const result = await app.callServerTool({ name: "flux_fill", arguments: args }, { timeout: FILL_TIMEOUT_MS });
    if (result.isError) {
      setStatus(textOf(result) || "flux_fill failed.", "error");
      return;
    }
    await showResult(result);
    void tellTheModel(prompt, result);
  } catch (error) {
    setStatus(`The fill did not complete: ${error instanceof Error ? error.message : String(error)}`, "error");
  } finally {
    setBusy(false);
  }
}

ui.apply.addEventListener("click", () => void applyFill());
ui.slider.addEventListener("input", () => setSplit(Number(ui.slider.value)));
ui.showBefore.addEventListener("click", () => setSplit(100));
ui.showAfter.addEventListener("click", () => setSplit(0));
ui.editAgain.addEventListener("click", () => {
  ui.result.hidden = true;
  ui.editor.hidden = false;
  setStatus("Edit the mask and apply again.");
  ui.canvas.focus();
});

// ---- host connection -----------------------------------------------------------------------------

function applyHostContext(context: HostContext): void {
  if (!context) return;
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
  if (context.styles?.css?.fonts) applyHostFonts(context.styles.css.fonts);
}

const app = new App({ name: "flux-fill-mask-editor", version: "1.0.0" }, {}, { autoResize: true });
app.ontoolinput = (params) => {
  state.toolArgs = params.arguments;
};
app.ontoolresult = (result) => {
  loadEditor(result).catch((error: unknown) => {
    setStatus(
      `The editor could not load the image: ${error instanceof Error ? error.message : String(error)}`,
      "error",
    );
  });
};
app.onhostcontextchanged = (context) => applyHostContext(context);
app.onteardown = async () => ({});

app
  .connect()
  .then(() => applyHostContext(app.getHostContext()))
  .catch((error: unknown) => {
    setStatus(`Could not connect to the host: ${error instanceof Error ? error.message : String(error)}`, "error");
  });
