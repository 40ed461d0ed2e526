import { describe, expect, test } from "bun:test";
import { DirtyTiles, TILE_SIZE } from "../../src/demo/dirty-tiles.ts";
import { Framebuffer } from "../../src/demo/framebuffer.ts";
import { encodeRawUpdate, pixelValue, SERVER_PIXEL_FORMAT } from "../../src/demo/pixel-encoding.ts";
import { DemoScene, keysymName } from "../../src/demo/scene.ts";
import { NOVNC_PIXEL_FORMAT } from "../helpers/rfb-client.ts";

const NOON = new Date(2024, 0, 1, 12, 0, 0);

function snapshot(scene: DemoScene): Uint32Array {
  return scene.fb.pixels.slice();
}

function changedPixels(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe("DemoScene", () => {
  test("shows a non-uniform picture before any input", () => {
    const scene = new DemoScene(320, 240, "t", NOON);
    expect(new Set(scene.fb.pixels).size).toBeGreaterThan(10);
  });

  test("draws typed keys, and only on key press", () => {
    const scene = new DemoScene(640, 480, "t", NOON);
    const before = snapshot(scene);
    scene.key(false, 0x41);
    expect(changedPixels(before, scene.fb.pixels)).toBe(0);
    scene.key(true, 0x41);
    expect(changedPixels(before, scene.fb.pixels)).toBeGreaterThan(0);
  });

  test("leaves a trail where the pointer moves", () => {
    const scene = new DemoScene(640, 480, "t", NOON);
    const before = snapshot(scene);
    scene.pointer(320, 440, 0);
    expect(scene.fb.pixels[440 * 640 + 320]).not.toBe(before[440 * 640 + 320]);
  });

  test("redraws the clock only when the second changes", () => {
    const scene = new DemoScene(640, 480, "t", NOON);
    const damage: unknown[] = [];
    scene.fb.onDamage((r) => damage.push(r));
    scene.tick(new Date(NOON.getTime() + 400));
    expect(damage).toHaveLength(0);
    scene.tick(new Date(NOON.getTime() + 1000));
    expect(damage.length).toBeGreaterThan(0);
  });

  test.each([
    [0x61, "a"],
    [0xffbe, "F1"],
    [0xffc9, "F12"],
    [0xffe3, "Control_L"],
    [0x1234, "0x1234"],
  ])("names keysym %i as %s", (keysym, name) => {
    expect(keysymName(keysym)).toBe(name);
  });
});

describe("DirtyTiles", () => {
  test("returns nothing when nothing changed", () => {
    expect(new DirtyTiles(100, 100).take({ x: 0, y: 0, width: 100, height: 100 })).toEqual([]);
  });

  test("merges neighbouring dirty tiles of a row into one rectangle clipped to the screen", () => {
    const d = new DirtyTiles(100, 50);
    d.mark({ x: 40, y: 40, width: 60, height: 5 });
    expect(d.take({ x: 0, y: 0, width: 100, height: 50 })).toEqual([
      { x: TILE_SIZE, y: TILE_SIZE, width: 100 - TILE_SIZE, height: 50 - TILE_SIZE },
    ]);
    expect(d.any).toBe(false);
  });

  test("keeps tiles outside the requested region dirty", () => {
    const d = new DirtyTiles(128, 128);
    d.mark({ x: 0, y: 0, width: 1, height: 1 });
    d.mark({ x: 100, y: 100, width: 1, height: 1 });
    expect(d.take({ x: 0, y: 0, width: 10, height: 10 })).toHaveLength(1);
    expect(d.any).toBe(true);
  });
});

describe("pixel encoding", () => {
  test("puts red where noVNC's pixel format expects it", () => {
    expect(pixelValue(0xff0000, NOVNC_PIXEL_FORMAT)).toBe(0x0000ff);
    expect(pixelValue(0xff0000, SERVER_PIXEL_FORMAT)).toBe(0xff0000);
  });

  test("scales channels down for a 16-bit format", () => {
    const rgb565 = { ...SERVER_PIXEL_FORMAT, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 };
    expect(pixelValue(0xffffff, rgb565)).toBe(0xffff);
  });

  test("encodes a FramebufferUpdate with a Raw rectangle header and little-endian pixels", () => {
    const fb = new Framebuffer(2, 1);
    fb.pixels.set([0x112233, 0x445566]);
    const msg = encodeRawUpdate(fb, [{ x: 0, y: 0, width: 2, height: 1 }], SERVER_PIXEL_FORMAT);
    expect([...msg]).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0x33, 0x22, 0x11, 0, 0x66, 0x55, 0x44, 0]);
  });
});
