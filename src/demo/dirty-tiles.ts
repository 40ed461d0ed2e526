/**
 * Per-client record of which parts of the framebuffer changed since that client's last update,
 * kept as a fixed grid of tiles (bounded memory however much is drawn), turned into a few
 * rectangles (runs of dirty tiles per tile row) when the client asks for an incremental update.
 */
import type { Rect } from "./framebuffer.ts";

export const TILE_SIZE = 32;

export class DirtyTiles {
  private readonly cols: number;
  private readonly rows: number;
  private readonly bits: Uint8Array;
  private count = 0;

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    this.cols = Math.ceil(width / TILE_SIZE);
    this.rows = Math.ceil(height / TILE_SIZE);
    this.bits = new Uint8Array(this.cols * this.rows);
  }

  /** Whether anything is dirty at all. */
  get any(): boolean {
    return this.count > 0;
  }

  mark(r: Rect): void {
    const c0 = Math.max(0, Math.floor(r.x / TILE_SIZE));
    const r0 = Math.max(0, Math.floor(r.y / TILE_SIZE));
    const c1 = Math.min(this.cols - 1, Math.floor((r.x + r.width - 1) / TILE_SIZE));
    const r1 = Math.min(this.rows - 1, Math.floor((r.y + r.height - 1) / TILE_SIZE));
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const i = row * this.cols + col;
        if (!this.bits[i]) {
          this.bits[i] = 1;
          this.count++;
        }
      }
    }
  }

  /** Marks everything clean (after a full update). */
  clear(): void {
    this.bits.fill(0);
    this.count = 0;
  }

  /**
   * Takes the dirty tiles that touch `region` as rectangles (whole tiles, clipped to the screen;
   * sending a little outside the request is allowed by RFB) and marks them clean.
   */
  take(region: Rect): Rect[] {
    const out: Rect[] = [];
    if (region.width <= 0 || region.height <= 0) return out;
    const c0 = Math.max(0, Math.floor(region.x / TILE_SIZE));
    const r0 = Math.max(0, Math.floor(region.y / TILE_SIZE));
    const c1 = Math.min(this.cols - 1, Math.floor((region.x + region.width - 1) / TILE_SIZE));
    const r1 = Math.min(this.rows - 1, Math.floor((region.y + region.height - 1) / TILE_SIZE));
    for (let row = r0; row <= r1; row++) {
      let runStart = -1;
      for (let col = c0; col <= c1 + 1; col++) {
        const i = row * this.cols + col;
        const dirty = col <= c1 && this.bits[i] === 1;
        if (dirty) {
          this.bits[i] = 0;
          this.count--;
          if (runStart < 0) runStart = col;
        } else if (runStart >= 0) {
          const x = runStart * TILE_SIZE;
          const y = row * TILE_SIZE;
          out.push({
            x,
            y,
            width: Math.min(col * TILE_SIZE, this.width) - x,
            height: Math.min(y + TILE_SIZE, this.height) - y,
          });
          runStart = -1;
        }
      }
    }
    return out;
  }
}
