// The benchmark's two mask families (issue 6). Pure functions: size in, one-channel mask out.

/** A rectangle of 1/8 of the width and height, centred a third of the way in from the top-left. */
export function blockMask(width, height) {
  const data = Buffer.alloc(width * height);
  const bw = Math.round(width / 8);
  const bh = Math.round(height / 8);
  const x0 = Math.round(width / 3 - bw / 2);
  const y0 = Math.round(height / 3 - bh / 2);
  for (let y = y0; y < y0 + bh; y++) data.fill(255, y * width + x0, y * width + x0 + bw);
  return { data, width, height, channels: 1 };
}

/** mulberry32: a small seeded generator, so every run draws the same scribbles. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` thick random strokes (a user scribbling over wires, text or scratches): each a polyline of 3
 * segments of up to a quarter of the width, `width / 60` pixels thick. Positions are drawn in fractions of
 * the image size, so the same seed gives the same scribbles at any resolution.
 */
export function scribbleMask(width, height, seed = 6, count = 20) {
  const random = seededRandom(seed);
  const data = Buffer.alloc(width * height);
  const radius = Math.max(1, width / 60) / 2;
  for (let s = 0; s < count; s++) {
    let x = (0.05 + 0.9 * random()) * width;
    let y = (0.05 + 0.9 * random()) * height;
    for (let k = 0; k < 3; k++) {
      const angle = random() * 2 * Math.PI;
      const length = (0.08 + 0.17 * random()) * width;
      const nx = Math.min(width - 1, Math.max(0, x + Math.cos(angle) * length));
      const ny = Math.min(height - 1, Math.max(0, y + Math.sin(angle) * length));
      drawSegment(data, width, height, x, y, nx, ny, radius);
      x = nx;
      y = ny;
    }
  }
  return { data, width, height, channels: 1 };
}

function drawSegment(data, width, height, ax, ay, bx, by, radius) {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - radius));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + radius));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - radius));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + radius));
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      const t = length2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2)) : 0;
      const ex = ax + t * dx - px;
      const ey = ay + t * dy - py;
      if (ex * ex + ey * ey <= radius * radius) data[py * width + px] = 255;
    }
  }
}

export function coverage(mask) {
  let n = 0;
  for (const v of mask.data) if (v >= 128) n++;
  return n / mask.data.length;
}
