/**
 * The mask editor end to end in a real browser: the test host (AppBridge) shows the page from
 * ui://flux-fill/mask-editor in the double-iframe sandbox on a second origin under the default CSP; a
 * person's stroke, prompt and click on apply reach the upstream emulator as a mask through flux_fill.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallToolRequest, CallToolResult } from "@modelcontextprotocol/client";
import type { BrowserContext, Frame, Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppsHost,
  CHROMIUM_PATH,
  chromiumAvailable,
  DEFAULT_APP_CSP,
  launchChromium,
  startAppsHost,
} from "../helpers/apps-host.js";
import { type Emulator, startEmulator } from "../helpers/emulator.js";
import { startFalEmulator } from "../helpers/host-emulators.js";
import { encodeRaster, insideShape, makePhoto, objectScenePixels, type Shape } from "../helpers/images.js";
import { ensureMaskEditorBuilt } from "../helpers/mask-editor.js";
import { startInMemory, type TestServer } from "../helpers/mcp.js";
import { COFFEE_CUP, COFFEE_SPOON } from "../helpers/photo-objects.js";
import type { SamObject } from "../helpers/sam-emulation.js";

const KEY = "e2e-secret-key-7c21";
const FAL_KEY = "e2e-fal-key-58d0:13ce";
const PHOTOS = "/work/shared/data/photos";
const COFFEE = { width: 600, height: 400 };
// On the 32 px grid and under 4 MP, so crop "auto" sends the photo and its mask as they are (byte for byte).
const IMAGE = { width: 320, height: 256 };
/** The width the host gives the view: the narrow layout the page must stay usable at. */
const VIEW_WIDTH = 400;
const BRUSH_CSS_PX = 32; // the page's default brush diameter

const hasChromium = chromiumAvailable();
if (!hasChromium && process.env.FLUX_FILL_E2E_REQUIRE_CHROMIUM === "1") {
  throw new Error(`FLUX_FILL_E2E_REQUIRE_CHROMIUM=1 but there is no chromium at ${CHROMIUM_PATH}.`);
}
if (!hasChromium) {
  console.warn(
    `SKIPPED test/e2e/mask-editor.test.ts: no chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH).`,
  );
}

/** The page's coverage text for a fraction, as a person reads it (one decimal). */
function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))} %`;
}

/** Squared distance from p to the segment a–b. */
function distanceSquared(p: [number, number], a: [number, number], b: [number, number]): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)));
  return (p[0] - a[0] - t * dx) ** 2 + (p[1] - a[1] - t * dy) ** 2;
}

/** Where image pixel (x, y) is on the page; measured at each use, as the status line above the canvas may wrap. */
async function pagePoint(canvas: Locator, image: { width: number; height: number }, x: number, y: number): Promise<[number, number]> {
  const box = (await canvas.boundingBox())!;
  return [box.x + (x / image.width) * box.width, box.y + (y / image.height) * box.height];
}

/** A mouse drag, as a person draws a box. */
async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps: 8 });
  await page.mouse.up();
}

/** The page's mask, read from its overlay canvas (painted pixels are drawn, the rest is transparent). */
async function paintedMask(viewFrame: Frame): Promise<{ width: number; height: number; inpaint: boolean[] }> {
  return viewFrame.evaluate(() => {
    const canvas = document.getElementById("mask-canvas") as HTMLCanvasElement;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    const inpaint: boolean[] = [];
    for (let i = 3; i < data.length; i += 4) inpaint.push(data[i]! > 0);
    return { width: canvas.width, height: canvas.height, inpaint };
  });
}

declare global {
  interface Window {
    busyStates: Array<{ status: string | null; busy: string | null; toolsDisabled: boolean }>;
  }
}

/** Records in the page each status line shown, with whether the page was busy then (a MutationObserver). */
async function recordBusyStates(viewFrame: Frame): Promise<void> {
  await viewFrame.evaluate(() => {
    window.busyStates = [];
    const status = document.getElementById("status")!;
    new MutationObserver(() =>
      window.busyStates.push({
        status: status.textContent,
        busy: document.getElementById("app")!.getAttribute("aria-busy"),
        toolsDisabled: (document.querySelector('button[data-tool="brush"]') as HTMLButtonElement).disabled,
      }),
    ).observe(status, { childList: true, characterData: true, subtree: true });
  });
}

/** The pixel bounds of a hand-outlined object on a photo of `size`, padded by `pad` pixels. */
function objectBounds(object: SamObject, size: { width: number; height: number }, pad: number) {
  const xs = object.polygon.map((p) => p[0] * size.width);
  const ys = object.polygon.map((p) => p[1] * size.height);
  return { x0: Math.min(...xs) - pad, y0: Math.min(...ys) - pad, x1: Math.max(...xs) + pad, y1: Math.max(...ys) + pad };
}

describe.skipIf(!hasChromium)("mask editor in a browser host", () => {
  let emulator: Emulator;
  let server: TestServer;
  let host: AppsHost;
  let browser: BrowserContext;

  beforeAll(async () => {
    [emulator, host, browser] = await Promise.all([
      startEmulator({ apiKey: KEY, generationMs: 50 }),
      startAppsHost(),
      launchChromium({ width: VIEW_WIDTH + 40, height: 900 }),
      ensureMaskEditorBuilt(),
    ]);
    server = await startInMemory({
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "20",
      FLUX_FILL_TIMEOUT_S: "20",
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await host?.close();
    await emulator?.close();
  });

  /**
   * What a host does when the model calls open_mask_editor: call it, read the UI resource it names, and
   * show that page in the sandbox with the tool's input and result.
   */
  async function openEditor(
    toolInput: Record<string, unknown>,
    { on = server, viewInput = toolInput }: { on?: TestServer; viewInput?: Record<string, unknown> } = {},
  ) {
    const { tools } = await on.client.listTools();
    const editorTool = tools.find((t) => t.name === "open_mask_editor")!;
    const resourceUri = (editorTool._meta as { ui: { resourceUri: string } }).ui.resourceUri;
    const toolResult = (await on.client.callTool(
      { name: "open_mask_editor", arguments: toolInput },
    )) as CallToolResult;
    expect(toolResult.isError).toBeFalsy();
    const resource = await on.client.readResource({ uri: resourceUri });
    const html = (resource.contents[0] as { text: string }).text;

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error" || /Content Security Policy|Refused to/i.test(message.text())) {
        problems.push(message.text());
      }
    });
    page.on("pageerror", (error) => problems.push(error.message));
    // The host forwards the view's tools/call to the server, only for tools visible to apps.
    const viewCalls: Array<CallToolRequest["params"]> = [];
    await page.exposeFunction("mcpCallTool", async (params: CallToolRequest["params"]) => {
      viewCalls.push(params);
      const tool = tools.find((t) => t.name === params.name);
      const visibility = (tool?._meta as { ui?: { visibility?: string[] } } | undefined)?.ui?.visibility ?? [
        "model",
        "app",
      ];
      if (!tool || !visibility.includes("app")) throw new Error(`tool ${params.name} is not available to apps`);
      return on.client.callTool(params, { timeout: 30_000 });
    });
    await page.goto(host.hostUrl);
    await page.evaluate((options) => window.startHost(options), {
      html,
      sandboxUrl: host.sandboxUrl,
      toolInput: viewInput,
      toolResult,
      width: VIEW_WIDTH,
    });
    const view = page.frameLocator("#app-frame").frameLocator("iframe");
    const canvas = view.getByTestId("mask-canvas");
    await canvas.waitFor({ state: "visible", timeout: 10_000 });
    const viewFrame = page.frames().find((f) => f.parentFrame()?.url().startsWith(host.sandboxUrl));
    expect(viewFrame).toBeDefined();
    return { page, view, canvas, viewFrame: viewFrame!, problems, viewCalls };
  }

  it("paints a stroke, applies flux_fill through the host and shows the result", async () => {
    await writeFile(path.join(server.workDir, "photo.png"), await makePhoto(IMAGE.width, IMAGE.height, { seed: 11 }));
    const { page, view, canvas, viewFrame, problems } = await openEditor({ image: "photo.png" });
    // The view really is on the sandbox origin, under the default CSP, not on the host's.
    expect(new URL(await viewFrame.evaluate(() => window.origin)).port).toBe(new URL(host.sandboxUrl).port);
    expect(host.sandboxRequests[0]?.csp).toBe(DEFAULT_APP_CSP);

    // Readable at 400 px: nothing wider than the view.
    const overflow = await viewFrame.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    // Paint one straight stroke with the mouse.
    const box = (await canvas.boundingBox())!;
    const from: [number, number] = [box.x + box.width * 0.25, box.y + box.height * 0.3];
    const to: [number, number] = [box.x + box.width * 0.7, box.y + box.height * 0.6];
    await page.mouse.move(...from);
    await page.mouse.down();
    await page.mouse.move(...to, { steps: 12 });
    await page.mouse.up();
    await expect.poll(() => view.locator("#coverage").textContent()).not.toBe("0 %");

    await view.getByTestId("prompt").fill("a wooden bench");
    await view.getByTestId("apply-fill").click();
    const resultImage = view.getByTestId("result-image");
    await resultImage.waitFor({ state: "visible", timeout: 20_000 });
    expect(await resultImage.getAttribute("src")).toMatch(/^data:image\/jpeg;base64,/);
    expect(await resultImage.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(IMAGE.width);
    expect(await view.locator("#saved-path").textContent()).toContain(server.config.outputDir);

    // The upstream got the painted mask at the image's size: white exactly along the stroke.
    expect(emulator.submits).toHaveLength(1);
    const submit = emulator.submits[0]!;
    expect((submit.body as { prompt?: string }).prompt).toBe("a wooden bench");
    const mask = await sharp(submit.mask!).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height]).toEqual([IMAGE.width, IMAGE.height]);
    const scale = IMAGE.width / box.width;
    const toImage = (p: [number, number]): [number, number] => [
      (p[0] - box.x) * scale,
      (p[1] - box.y) * (IMAGE.height / box.height),
    ];
    const [a, b] = [toImage(from), toImage(to)];
    const radius = (BRUSH_CSS_PX / 2) * scale;
    let white = 0;
    const wrong: string[] = [];
    for (let y = 0; y < IMAGE.height; y++) {
      for (let x = 0; x < IMAGE.width; x++) {
        const value = mask.data[y * IMAGE.width + x]!;
        const d = Math.sqrt(distanceSquared([x + 0.5, y + 0.5], a, b));
        if (value >= 128) white++;
        // One pixel of slack for the mouse's whole-pixel positions; the rest must match exactly.
        if (d <= radius - 1.5 && value < 128) wrong.push(`${x},${y} black inside the stroke`);
        if (d >= radius + 1.5 && value >= 128) wrong.push(`${x},${y} white outside the stroke`);
        if (value !== 0 && value !== 255) wrong.push(`${x},${y} grey ${value}`);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    const capsule = 2 * radius * Math.hypot(b[0] - a[0], b[1] - a[1]) + Math.PI * radius * radius;
    expect(white / capsule).toBeGreaterThan(0.9);
    expect(white / capsule).toBeLessThan(1.1);

    // The host saw the view's call, and the view told the model what happened.
    expect(await page.evaluate(() => window.hostEvents)).toEqual(
      expect.arrayContaining(["sandbox-ready", "initialized", "tools/call flux_fill"]),
    );
    expect(JSON.stringify(await page.evaluate(() => window.modelContext))).toContain("a wooden bench");
    expect(problems).toEqual([]);

    // And the view really runs under that CSP: a network request from it is refused.
    const violated = await viewFrame.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          document.addEventListener("securitypolicyviolation", (event) => resolve(event.effectiveDirective), {
            once: true,
          });
          fetch(url).catch(() => undefined);
        }),
      host.hostUrl,
    );
    expect(violated).toBe("connect-src");
    await page.close();
  }, 30_000);

  it("applied unchanged, a starting mask_id reaches the upstream as the previewed mask, byte for byte", async () => {
    await writeFile(path.join(server.workDir, "soft.png"), await makePhoto(IMAGE.width, IMAGE.height, { seed: 21 }));
    const preview = (await server.client.callTool(
      {
        name: "preview_mask",
        arguments: {
          image: "soft.png",
          mask_regions: [{ shape: "ellipse", cx: 160, cy: 120, rx: 60, ry: 40 }],
          feather_mask: 6,
          return_mask: true,
        },
      },
    )) as CallToolResult;
    const { mask_id, mask_path } = preview.structuredContent as { mask_id: string; mask_path: string };
    const before = emulator.submits.length;
    const { page, view, problems } = await openEditor({ image: "soft.png", mask_id });
    await expect.poll(() => view.locator("#coverage").textContent()).not.toBe("0 %");
    await view.getByTestId("apply-fill").click();
    await view.getByTestId("result-image").waitFor({ state: "visible", timeout: 20_000 });
    expect(emulator.submits).toHaveLength(before + 1);
    // The feathered mask's grey edge survives: the editor sent the id, not its own binary repaint of it.
    expect(emulator.submits.at(-1)!.mask!.equals(await readFile(mask_path))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it("is usable from the keyboard: tools, shapes, invert and undo", async () => {
    await writeFile(path.join(server.workDir, "keys.png"), await makePhoto(IMAGE.width, IMAGE.height, { seed: 5 }));
    const { page, view, canvas, problems } = await openEditor({ image: "keys.png" });
    const coverage = view.locator("#coverage");
    await canvas.focus();
    await page.keyboard.press("r"); // rectangle tool
    expect(await view.locator('button[data-tool="rect"]').getAttribute("aria-pressed")).toBe("true");
    // The cursor starts at the centre (160, 120); each arrow moves it 320 / 50 ≈ 6 mask pixels.
    await page.keyboard.press("Space");
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowDown");
    }
    await page.keyboard.press("Space");
    const rectangle = formatPercent((30 * 30) / (IMAGE.width * IMAGE.height));
    await expect.poll(() => coverage.textContent()).toBe(rectangle);
    await page.keyboard.press("i");
    await expect.poll(() => coverage.textContent()).toBe(formatPercent(1 - (30 * 30) / (IMAGE.width * IMAGE.height)));
    await page.keyboard.press("u");
    await expect.poll(() => coverage.textContent()).toBe(rectangle);
    await page.keyboard.press("Control+z");
    await expect.poll(() => coverage.textContent()).toBe("0 %");
    // Applying an empty mask is refused in the page, before any upstream call.
    const submitsBefore = emulator.submits.length;
    await view.getByTestId("apply-fill").focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => view.locator("#status").textContent()).toMatch(/mask is empty/);
    expect(emulator.submits.length).toBe(submitsBefore);
    // The Object tool from the keyboard: two corners with Space, the server's segmenter selects in between.
    await canvas.focus();
    await page.keyboard.press("s");
    await page.keyboard.press("Space");
    for (let i = 0; i < 5; i++) await page.keyboard.press("Shift+ArrowRight");
    await page.keyboard.press("Shift+ArrowDown");
    await page.keyboard.press("Shift+ArrowDown");
    await page.keyboard.press("Space");
    await expect.poll(() => view.locator("#status").textContent()).toMatch(/^Object \(segmenter classic, confidence /);
    expect(await page.evaluate(() => window.hostEvents)).toContain("tools/call open_mask_editor");
    expect(problems).toEqual([]);
    await page.close();
  }, 20_000);

  it("selects with the wand (in the page) and the object tool (the server's classic segmenter)", async () => {
    const scene = objectScenePixels(IMAGE.width, IMAGE.height, 9);
    await writeFile(path.join(server.workDir, "scene.png"), await encodeRaster(scene.raster));
    const { page, view, canvas, problems, viewCalls } = await openEditor({ image: "scene.png" });
    const toPage = (x: number, y: number) => pagePoint(canvas, IMAGE, x, y);
    // Wand: one click on the sky selects the sky band.
    await view.locator('button[data-tool="wand"]').click();
    await page.mouse.click(...(await toPage(40, 10)));
    await expect.poll(() => view.locator("#status").textContent()).toMatch(/^Magic wand: /);
    // Object: a box around the disk (its bounds padded 5 %) selects the disk, not the box.
    const disk = scene.disk as Extract<Shape, { kind: "ellipse" }>;
    await page.keyboard.press("s");
    expect(await view.locator('button[data-tool="object"]').getAttribute("aria-pressed")).toBe("true");
    const [from, to] = [
      await toPage(disk.cx - disk.rx * 1.1, disk.cy - disk.ry * 1.1),
      await toPage(disk.cx + disk.rx * 1.1, disk.cy + disk.ry * 1.1),
    ];
    await drag(page, from, to);
    await expect
      .poll(() => view.locator("#status").textContent())
      .toMatch(/^Object \(segmenter classic, confidence \d\.\d\d\): object segmented: /);
    // The server selected, from the box in the image's pixels (the page's own code would not have called it).
    expect(viewCalls.map((c) => c.name)).toEqual(["open_mask_editor"]);
    expect(viewCalls[0]!.arguments).toMatchObject({
      image: path.join(server.workDir, "scene.png"),
      units: "px",
      mask_regions: [{ shape: "object" }],
    });
    const sent = (viewCalls[0]!.arguments as { mask_regions: Array<Record<string, number>> }).mask_regions[0]!;
    expect(Math.abs(sent.x! - (disk.cx - disk.rx * 1.1))).toBeLessThanOrEqual(2);
    expect(Math.abs(sent.y! + sent.height! - (disk.cy + disk.ry * 1.1))).toBeLessThanOrEqual(2);
    // A name needs a segmenter that reads text: the server's refusal is shown as it came, nothing is added.
    const selected = await view.locator("#coverage").textContent();
    await view.getByTestId("object-text").fill("the ball");
    await view.getByTestId("object-text").press("Enter");
    await expect.poll(() => view.locator("#status").getAttribute("role")).toBe("alert");
    expect(await view.locator("#status").textContent()).toMatch(
      /^Object: the server could not select it\. Error \(bad_input\): .*\("the ball"\), but this server's segmenter \(classic\) cannot read text\..*FLUX_FILL_SEGMENTER=fal/s,
    );
    expect(await view.locator("#coverage").textContent()).toBe(selected);
    expect(viewCalls).toHaveLength(2);
    await view.getByTestId("object-text").fill("");

    await view.getByTestId("prompt").fill("clear sky, no ball");
    await view.getByTestId("apply-fill").click();
    await view.getByTestId("result-image").waitFor({ state: "visible", timeout: 20_000 });
    const submit = emulator.submits.at(-1)!;
    const mask = await sharp(submit.mask!).greyscale().raw().toBuffer({ resolveWithObject: true });
    // The wand works on the page's JPEG preview, so allow its artefacts: two rows at the sky's edge; IoU for the disk.
    let wrongSky = 0;
    let diskBoth = 0;
    let diskEither = 0;
    for (let y = 0; y < IMAGE.height; y++) {
      for (let x = 0; x < IMAGE.width; x++) {
        const white = mask.data[y * IMAGE.width + x]! >= 128;
        // Outside the object's box: exactly the sky, but for the JPEG's two rows at its edge.
        const inObjectBox = Math.abs(x + 0.5 - disk.cx) <= disk.rx * 1.1 && Math.abs(y + 0.5 - disk.cy) <= disk.ry * 1.1;
        if (Math.abs(y + 0.5 - scene.skyRows) > 2 && y < scene.skyRows !== white && !inObjectBox) wrongSky++;
        if (y >= scene.skyRows + 2) {
          const inDisk = insideShape(disk, x, y);
          if (white && inDisk) diskBoth++;
          if (white || inDisk) diskEither++;
        }
      }
    }
    expect(wrongSky).toBe(0);
    expect(diskBoth / diskEither).toBeGreaterThan(0.88);
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it("the Object tool selects with the server's segmenter (fal's SAM here): its mask, one paid request, its name and score shown", async () => {
    const fal = await startFalEmulator({ apiKey: FAL_KEY, queueMs: 10, generationMs: 40, samObjects: [COFFEE_SPOON, COFFEE_CUP] });
    const withFal = await startInMemory({
      BFL_API_KEY: KEY,
      BFL_API_BASE_URL: emulator.apiBaseUrl,
      FLUX_FILL_POLL_INTERVAL_MS: "20",
      FLUX_FILL_TIMEOUT_S: "20",
      FLUX_FILL_SEGMENTER: "fal",
      FAL_KEY,
      FLUX_FILL_FAL_BASE_URL: fal.apiBaseUrl,
    });
    const samJobs = () => [...fal.jobs.values()].filter((j) => j.model.startsWith("fal-ai/sam"));
    try {
      await copyFile(path.join(PHOTOS, "coffee.png"), path.join(withFal.workDir, "coffee.png"));
      const { page, view, canvas, viewFrame, problems, viewCalls } = await openEditor({ image: "coffee.png" }, { on: withFal });
      const status = view.locator("#status");
      const toPage = (x: number, y: number) => pagePoint(canvas, COFFEE, x, y);
      // A box around the spoon leaning on the cup, drawn a little tight (the classic colour model would take
      // a quarter of it): fal's mask reaches past it, within the slack the server keeps, and so must the page's.
      const spoon = objectBounds(COFFEE_SPOON, COFFEE, -3);
      await view.locator('button[data-tool="object"]').click();
      await view.getByTestId("object-text").waitFor({ state: "visible" });
      // Still readable at 400 px with the Name field shown.
      expect(await viewFrame.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await recordBusyStates(viewFrame);
      await drag(page, await toPage(spoon.x0, spoon.y0), await toPage(spoon.x1, spoon.y1));
      await expect
        .poll(() => status.textContent())
        .toMatch(/^Object \(segmenter fal, confidence 0\.93\): .*paid \$0\.005 .*photo was sent to fal/);
      // While the server worked the page said so and was busy (tools disabled); it is usable again now.
      expect(await viewFrame.evaluate(() => window.busyStates)).toContainEqual({
        status: "Object: the server's segmenter is selecting in the box…",
        busy: "true",
        toolsDisabled: true,
      });
      expect(await view.locator("#app").getAttribute("aria-busy")).toBe("false");
      expect(samJobs()).toHaveLength(1);
      const asked = viewCalls.find((c) => c.name === "open_mask_editor")!.arguments as Record<string, unknown>;
      expect(await view.locator("#coverage").textContent()).not.toBe("0 %");

      // The page's mask is the server's for that box: asked again directly, it comes from the server's cache
      // (no second request), so a preview or fill of the same box after the editor is not paid again.
      const direct = (await withFal.client.callTool({
        name: "preview_mask",
        arguments: { image: "coffee.png", mask_regions: asked.mask_regions, units: "px", return_mask: true },
      })) as CallToolResult;
      expect(direct.isError, JSON.stringify(direct.content)).toBeFalsy();
      expect(samJobs()).toHaveLength(1);
      const expected = await sharp((direct.structuredContent as { mask_path: string }).mask_path)
        .greyscale()
        .raw()
        .toBuffer();
      const painted = await paintedMask(viewFrame); // the editor paints at the photo's size here (600×400)
      expect([painted.width, painted.height]).toEqual([COFFEE.width, COFFEE.height]);
      let differ = 0;
      let white = 0;
      for (let i = 0; i < expected.length; i++) {
        if (painted.inpaint[i]) white++;
        if (painted.inpaint[i] !== expected[i]! >= 128) differ++;
      }
      expect(white).toBeGreaterThan(0.02 * COFFEE.width * COFFEE.height);
      expect(differ).toBe(0);

      // Named instead of boxed: the Name field's text goes to SAM 3 as its prompt, over the whole image.
      const coverageBefore = await view.locator("#coverage").textContent();
      await view.getByTestId("object-text").fill("the cup");
      await view.locator("#object-find").click();
      await expect
        .poll(() => status.textContent())
        .toMatch(/^Object \(segmenter fal, confidence 0\.96\): "the cup" segmented by fal's SAM 3: .*paid \$0\.005/);
      expect(samJobs()).toHaveLength(2);
      expect(samJobs()[1]!.body).toMatchObject({ prompt: "the cup" });
      expect(samJobs()[1]!.body.box_prompts).toBeUndefined();
      expect(await view.locator("#coverage").textContent()).not.toBe(coverageBefore);
      await view.getByTestId("object-text").fill("");

      // fal refuses (out of credit): the error is shown as it came, the mask is unchanged, the page still paints.
      fal.configure({ outOfCredits: true });
      const before = await view.locator("#coverage").textContent();
      const cup = objectBounds(COFFEE_CUP, COFFEE, 4);
      await drag(page, await toPage(cup.x0, cup.y0), await toPage(cup.x1, cup.y1));
      await expect.poll(() => status.getAttribute("role")).toBe("alert");
      expect(await status.textContent()).toMatch(/^Object: the server could not select it\. Error \(upstream_credits\)/);
      expect(await view.locator("#coverage").textContent()).toBe(before);
      expect(await view.locator('button[data-tool="brush"]').isDisabled()).toBe(false);
      await view.locator('button[data-tool="brush"]').click();
      await drag(page, await toPage(40, 350), await toPage(120, 360));
      await expect.poll(() => view.locator("#coverage").textContent()).not.toBe(before);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await withFal.close();
      await fal.close();
    }
  }, 45_000);

  it("runs the Object tool in the page only when it has no reference to the image, and says so", async () => {
    const scene = objectScenePixels(IMAGE.width, IMAGE.height, 9);
    const inline = `data:image/png;base64,${(await encodeRaster(scene.raster)).toString("base64")}`;
    // The image came inline and the host did not pass the tool's input on: the server cannot be asked.
    const { page, view, canvas, problems, viewCalls } = await openEditor({ image: inline }, { viewInput: {} });
    const disk = scene.disk as Extract<Shape, { kind: "ellipse" }>;
    const toPage = (x: number, y: number) => pagePoint(canvas, IMAGE, x, y);
    await view.locator('button[data-tool="object"]').click();
    await drag(
      page,
      await toPage(disk.cx - disk.rx * 1.1, disk.cy - disk.ry * 1.1),
      await toPage(disk.cx + disk.rx * 1.1, disk.cy + disk.ry * 1.1),
    );
    await expect
      .poll(() => view.locator("#status").textContent())
      .toMatch(/^Object \(classic, in this page: the image came inline and the page has no reference to it\): /);
    expect(await view.locator("#coverage").textContent()).not.toBe("0 %");
    expect(viewCalls).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 20_000);

  // FLUX_FILL_SCREENSHOT=examples/mask-editor.png npx vitest run test/e2e regenerates the README picture.
  it.runIf(process.env.FLUX_FILL_SCREENSHOT)(
    "writes the README screenshot",
    async () => {
      await copyFile(path.resolve("examples/scene.jpg"), path.join(server.workDir, "scene.jpg"));
      const { page, view } = await openEditor({
        image: "scene.jpg",
        mask_regions: [{ shape: "ellipse", cx: 430, cy: 335, rx: 44, ry: 44 }],
        prompt: "a wooden bench in the grass",
      });
      await page.waitForTimeout(300);
      const shot = await page.locator("#app-frame").screenshot();
      const small = await sharp(shot).png({ palette: true, quality: 80, compressionLevel: 9 }).toBuffer();
      await writeFile(process.env.FLUX_FILL_SCREENSHOT!, small);
      expect(await view.locator("#coverage").textContent()).not.toBe("0 %");
      await page.close();
    },
    20_000,
  );
});
