import { describe, expect, test } from "bun:test";
import { ViewOnlyFilter } from "../../src/relay/stages/view-only.ts";
import { isFailure, type StageFailure } from "../../src/relay/stages/stage.ts";
import { concat, splittings } from "../helpers/chunks.ts";

const version = "RFB 003.008\n";
const authResponse = new Uint8Array(16).fill(7);
const handshake = (shared: number) => concat(version, [2], authResponse, [shared]);
const pixelFormat = [0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0];
const encodings = [2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x21];
const updateRequest = [3, 1, 0, 10, 0, 20, 1, 0, 0, 200];
const continuous = [150, 1, 0, 0, 0, 0, 1, 0, 0, 200];
const fence = [248, 0, 0, 0, 0, 0, 0, 3, 2, 0xaa, 0xbb];
const keyDown = [4, 1, 0, 0, 0, 0, 0x00, 0x61];
const pointer = [5, 1, 0x01, 0x2c, 0x00, 0xc8];
const cutText = [6, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x21];
const extendedCut = [6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 1, 2, 3, 4];
const qemuKey = [255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1e];
const qemuAudio = [255, 1, 0, 0];
const xvpReboot = [250, 0, 1, 3];
const desktopSize = concat([251, 0, 4, 0, 3, 0, 1, 0], new Uint8Array(16));

/** Everything the filter passes for `chunks`, or the failure. */
function run(chunks: Uint8Array[]): { out: number[]; failure: StageFailure | null; dropped: number } {
  const f = new ViewOnlyFilter();
  const out: number[] = [];
  for (const c of chunks) {
    const r = f.feed(c);
    if (isFailure(r)) return { out, failure: r, dropped: f.dropped };
    out.push(...r);
  }
  return { out, failure: null, dropped: f.dropped };
}

describe("ViewOnlyFilter", () => {
  const allowed = concat(pixelFormat, encodings, updateRequest, continuous, fence);
  const input = concat(keyDown, pointer, cutText, extendedCut, qemuKey, qemuAudio, xvpReboot, desktopSize);

  for (const [how, chunks] of splittings(concat(handshake(1), allowed, input, updateRequest))) {
    test(`passes handshake and display messages, drops every input message (${how})`, () => {
      const r = run(chunks);
      expect(r.failure).toBeNull();
      expect(r.out).toEqual([...concat(handshake(1), allowed, updateRequest)]);
      expect(r.dropped).toBe(8);
    });
  }

  for (const [how, chunks] of splittings(concat(handshake(0), updateRequest))) {
    test(`forces ClientInit's shared flag to 1 (${how})`, () => {
      expect(run(chunks).out).toEqual([...concat(handshake(1), updateRequest)]);
    });
  }

  test("security type None: no auth response between the type and ClientInit", () => {
    const stream = concat(version, [1], [0], keyDown, updateRequest);
    expect(run([stream]).out).toEqual([...concat(version, [1], [1], updateRequest)]);
  });

  test("a chunk of display messages only is passed as the same array (no copy)", () => {
    const f = new ViewOnlyFilter();
    f.feed(handshake(1));
    const chunk = concat(updateRequest, updateRequest);
    expect(f.feed(chunk)).toBe(chunk);
  });

  test("a chunk of input only passes nothing", () => {
    const f = new ViewOnlyFilter();
    f.feed(handshake(1));
    const r = f.feed(Uint8Array.from(keyDown));
    expect(isFailure(r) ? r : r.byteLength).toBe(0);
  });

  test("a large clipboard is skipped without being buffered", () => {
    const big = new Uint8Array(1_000_000);
    const header = [6, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40];
    const r = run([handshake(1), Uint8Array.from(header), big.subarray(0, 500_000), concat(big.subarray(500_000), updateRequest)]);
    expect(r.out).toEqual([...concat(handshake(1), updateRequest)]);
    expect(r.dropped).toBe(1);
  });

  test.each([
    ["an unknown message type", [7, 0, 0, 0], "View-only: unknown client message type 7"],
    ["an unknown QEMU subtype", [255, 9, 0, 0], "View-only: unknown QEMU client message 9"],
  ])("%s closes 1008 and passes nothing of it", (_name, message, reason) => {
    const r = run([concat(handshake(1), updateRequest, message, updateRequest)]);
    expect(r.failure).toMatchObject({ code: 1008, reason });
    // Once failed, nothing more passes.
    const f = new ViewOnlyFilter();
    f.feed(handshake(1));
    expect(isFailure(f.feed(Uint8Array.from(message)))).toBe(true);
    expect(isFailure(f.feed(Uint8Array.from(updateRequest)))).toBe(true);
  });

  test.each([
    ["RFB 3.3 (the server picks the type, the client stream cannot be followed)", concat("RFB 003.003\n"), "View-only needs RFB 3.7 or later"],
    ["a security type it cannot follow", concat(version, [19]), "View-only: security type 19 not supported"],
    ["not an RFB client", concat("GET / HTTP/1.1\r\n"), "View-only: not an RFB client"],
  ])("%s: 1008", (_name, stream, reason) => {
    expect(run([stream]).failure).toMatchObject({ code: 1008, reason, outcome: "protocol_error" });
  });
});
