/**
 * Turns framebuffer pixels into the bytes of a Raw-encoded rectangle in whatever true-colour
 * pixel format the client chose (noVNC: 32 bpp little-endian, red at shift 0; QEMU-style
 * default: red at shift 16), and builds the FramebufferUpdate message around rectangles.
 */
import { ENCODING_RAW, SERVER_FRAMEBUFFER_UPDATE } from "../rfb/constants.ts";
import type { PixelFormat } from "./client-messages.ts";
import type { Framebuffer, Rect } from "./framebuffer.ts";

/** The format the demo server announces in ServerInit: 32 bpp, depth 24, little-endian, 0xRRGGBB. */
export const SERVER_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** Why a client's SetPixelFormat cannot be served, or null when it can. */
export function unsupportedPixelFormat(f: PixelFormat): string | null {
  if (!f.trueColour) return "colour-map pixel formats are not supported";
  if (f.bitsPerPixel !== 8 && f.bitsPerPixel !== 16 && f.bitsPerPixel !== 32) {
    return `unsupported bits per pixel ${f.bitsPerPixel}`;
  }
  for (const max of [f.redMax, f.greenMax, f.blueMax]) {
    if (max === 0 || (max & (max + 1)) !== 0) return "colour maxima must be 2^n - 1";
  }
  return null;
}

/** Serialises a PIXEL_FORMAT into 16 bytes at `offset` of `v`. */
export function writePixelFormat(v: DataView, offset: number, f: PixelFormat): void {
  v.setUint8(offset, f.bitsPerPixel);
  v.setUint8(offset + 1, f.depth);
  v.setUint8(offset + 2, f.bigEndian ? 1 : 0);
  v.setUint8(offset + 3, f.trueColour ? 1 : 0);
  v.setUint16(offset + 4, f.redMax);
  v.setUint16(offset + 6, f.greenMax);
  v.setUint16(offset + 8, f.blueMax);
  v.setUint8(offset + 10, f.redShift);
  v.setUint8(offset + 11, f.greenShift);
  v.setUint8(offset + 12, f.blueShift);
}

function scale(channel: number, max: number): number {
  return max === 255 ? channel : Math.round((channel * max) / 255);
}

/** One 0xRRGGBB pixel as the client's pixel value. */
export function pixelValue(rgb: number, f: PixelFormat): number {
  const r = scale((rgb >>> 16) & 0xff, f.redMax);
  const g = scale((rgb >>> 8) & 0xff, f.greenMax);
  const b = scale(rgb & 0xff, f.blueMax);
  return ((r << f.redShift) | (g << f.greenShift) | (b << f.blueShift)) >>> 0;
}

/** Byte size of a FramebufferUpdate carrying `rects` in Raw encoding. */
export function rawUpdateSize(rects: Rect[], f: PixelFormat): number {
  const bpp = f.bitsPerPixel / 8;
  return 4 + rects.reduce((n, r) => n + 12 + r.width * r.height * bpp, 0);
}

/** A complete FramebufferUpdate message with every rectangle Raw-encoded. */
export function encodeRawUpdate(fb: Framebuffer, rects: Rect[], f: PixelFormat): Uint8Array {
  const out = new Uint8Array(rawUpdateSize(rects, f));
  const v = new DataView(out.buffer);
  v.setUint8(0, SERVER_FRAMEBUFFER_UPDATE);
  v.setUint16(2, rects.length);
  let o = 4;
  const bpp = f.bitsPerPixel / 8;
  const le = !f.bigEndian;
  for (const r of rects) {
    v.setUint16(o, r.x);
    v.setUint16(o + 2, r.y);
    v.setUint16(o + 4, r.width);
    v.setUint16(o + 6, r.height);
    v.setInt32(o + 8, ENCODING_RAW);
    o += 12;
    for (let y = r.y; y < r.y + r.height; y++) {
      const row = y * fb.width;
      for (let x = r.x; x < r.x + r.width; x++) {
        const p = pixelValue(fb.pixels[row + x]!, f);
        if (bpp === 4) v.setUint32(o, p, le);
        else if (bpp === 2) v.setUint16(o, p, le);
        else v.setUint8(o, p);
        o += bpp;
      }
    }
  }
  return out;
}
