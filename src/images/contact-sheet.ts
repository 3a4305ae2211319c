/**
 * One picture of several candidates side by side (two columns), each numbered in its corner, as a JPEG
 * preview within the inline budget. The numbers are drawn as pixel blocks, so no font is needed.
 */
import sharp from "sharp";
import { renderPreview, type Preview } from "./preview.js";

/** 3×5 pixel digits. */
const DIGITS: Record<string, string[]> = {
  "1": ["010", "110", "010", "010", "111"],
  "2": ["111", "001", "111", "100", "111"],
  "3": ["111", "001", "111", "001", "111"],
  "4": ["101", "101", "111", "001", "001"],
};

/** An SVG badge with the candidate's number: a dark square with the digit in white blocks. */
function badge(n: number, cell: number): Buffer {
  const rows = DIGITS[String(n)] ?? DIGITS["1"]!;
  const rects: string[] = [];
  rows.forEach((row, y) => {
    [...row].forEach((bit, x) => {
      if (bit === "1") rects.push(`<rect x="${(x + 1) * cell}" y="${(y + 1) * cell}" width="${cell}" height="${cell}" fill="#fff"/>`);
    });
  });
  const w = 5 * cell;
  const h = 7 * cell;
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}" fill="#000" fill-opacity="0.7"/>${rects.join("")}</svg>`);
}

/** The candidates (encoded images) as one numbered sheet, each tile at most `tile` px on its longer side. */
export async function contactSheet(images: Buffer[], tile: number, maxSize: number): Promise<Preview> {
  const tiles = await Promise.all(
    images.map((bytes) =>
      sharp(bytes).resize({ width: tile, height: tile, fit: "inside" }).flatten({ background: "#ffffff" }).png().toBuffer({ resolveWithObject: true }),
    ),
  );
  const columns = Math.min(2, tiles.length);
  const cellWidth = Math.max(...tiles.map((t) => t.info.width));
  const cellHeight = Math.max(...tiles.map((t) => t.info.height));
  const gap = 8;
  const rows = Math.ceil(tiles.length / columns);
  const width = columns * cellWidth + (columns - 1) * gap;
  const height = rows * cellHeight + (rows - 1) * gap;
  const cell = Math.max(3, Math.round(Math.min(cellWidth, cellHeight) / 40));
  const layers = tiles.flatMap((t, i) => {
    const left = (i % columns) * (cellWidth + gap);
    const top = Math.floor(i / columns) * (cellHeight + gap);
    return [
      { input: t.data, left, top },
      { input: badge(i + 1, cell), left: left + cell, top: top + cell },
    ];
  });
  const sheet = await sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .composite(layers)
    .png()
    .toBuffer();
  return renderPreview(sheet, maxSize);
}
