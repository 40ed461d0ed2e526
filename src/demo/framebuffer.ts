/**
 * The demo server's picture: one 0xRRGGBB word per pixel, with drawing primitives that clip to
 * the screen and report every changed rectangle to damage listeners (one per connected client),
 * so incremental updates send only what changed.
 */
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from "./font.ts";

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Text cell size at scale 1: the 5x7 glyph, one pixel of spacing, room for descenders. */
export const CELL_WIDTH = GLYPH_WIDTH + 1;
export const CELL_HEIGHT = GLYPH_HEIGHT + 3;
/** Letters drawn two rows lower so their tails hang below the line. */
const DESCENDERS = new Set(["g", "p", "q", "y"]);

export class Framebuffer {
  readonly pixels: Uint32Array;
  private readonly listeners = new Set<(r: Rect) => void>();

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint32Array(width * height);
  }

  /** Calls `fn` with each damaged rectangle (already clipped); returns the unsubscribe. */
  onDamage(fn: (r: Rect) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The part of a rectangle that lies on screen, or null. */
  clip(r: Rect): Rect | null {
    const x0 = Math.max(0, Math.floor(r.x));
    const y0 = Math.max(0, Math.floor(r.y));
    const x1 = Math.min(this.width, Math.floor(r.x + r.width));
    const y1 = Math.min(this.height, Math.floor(r.y + r.height));
    if (x1 <= x0 || y1 <= y0) return null;
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  }

  damage(r: Rect): void {
    const c = this.clip(r);
    if (!c) return;
    for (const fn of this.listeners) fn(c);
  }

  /** Paints every pixel of `r` with `colour(x, y)`. */
  paint(r: Rect, colour: (x: number, y: number) => number): void {
    const c = this.clip(r);
    if (!c) return;
    for (let y = c.y; y < c.y + c.height; y++) {
      const row = y * this.width;
      for (let x = c.x; x < c.x + c.width; x++) this.pixels[row + x] = colour(x, y);
    }
    this.damage(c);
  }

  fillRect(r: Rect, rgb: number): void {
    const c = this.clip(r);
    if (!c) return;
    for (let y = c.y; y < c.y + c.height; y++) {
      this.pixels.fill(rgb, y * this.width + c.x, y * this.width + c.x + c.width);
    }
    this.damage(c);
  }

  /**
   * Draws `text` with the built-in font at integer `scale`, ink only (the caller paints the
   * background first). Returns the width drawn in pixels.
   */
  drawText(x: number, y: number, text: string, rgb: number, scale = 1): number {
    let cx = x;
    for (const ch of text) {
      const rows = glyph(ch);
      const top = y + scale * (DESCENDERS.has(ch) ? 3 : 1);
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        const bits = rows[gy]!;
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - gx)))) continue;
          this.fillQuiet(cx + gx * scale, top + gy * scale, scale, scale, rgb);
        }
      }
      cx += CELL_WIDTH * scale;
    }
    this.damage({ x, y, width: cx - x, height: CELL_HEIGHT * scale });
    return cx - x;
  }

  /** fillRect without reporting damage (drawText reports its whole box once). */
  private fillQuiet(x: number, y: number, w: number, h: number, rgb: number): void {
    const c = this.clip({ x, y, width: w, height: h });
    if (!c) return;
    for (let yy = c.y; yy < c.y + c.height; yy++) {
      this.pixels.fill(rgb, yy * this.width + c.x, yy * this.width + c.x + c.width);
    }
  }
}
