// Regenerates the example photo and mask (`node examples/generate.mjs`). They are our own making: a
// procedural landscape with grain, and a mask over the red ball that the demo removes.
import sharp from "sharp";

const width = 640;
const height = 427;
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5f8fc9"/><stop offset="1" stop-color="#cfe0ef"/></linearGradient>
    <linearGradient id="grass" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5d8a3a"/><stop offset="1" stop-color="#2f5a1f"/></linearGradient>
  </defs>
  <rect width="100%" height="100%" fill="url(#sky)"/>
  <path d="M0 250 Q 160 180 320 230 T 640 210 L 640 427 L 0 427 Z" fill="#6f8f59"/>
  <path d="M0 300 Q 200 260 400 300 T 640 290 L 640 427 L 0 427 Z" fill="url(#grass)"/>
  <rect x="92" y="180" width="14" height="110" fill="#5a3d22"/>
  <circle cx="99" cy="170" r="46" fill="#2e6b2a"/>
  <circle cx="430" cy="335" r="34" fill="#c8281e"/>
  <ellipse cx="420" cy="322" rx="10" ry="7" fill="#f08a80"/>
</svg>`;

const base = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
// Film grain from a fixed-seed generator, so the scene has texture like a photo and the file is stable.
let state = 12345;
const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const pixels = base.data;
for (let i = 0; i < pixels.length; i += 3) {
  const grain = random() * 28;
  for (let c = 0; c < 3; c++) pixels[i + c] = Math.max(0, Math.min(255, pixels[i + c] + grain + random() * 8));
}
await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 88 }).toFile(new URL("scene.jpg", import.meta.url).pathname);

const mask = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <rect width="100%" height="100%" fill="black"/><circle cx="430" cy="335" r="44" fill="white"/></svg>`;
await sharp(Buffer.from(mask)).greyscale().png().toFile(new URL("scene-mask.png", import.meta.url).pathname);
console.log("wrote examples/scene.jpg and examples/scene-mask.png");
