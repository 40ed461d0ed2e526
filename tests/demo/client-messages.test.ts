import { describe, expect, test } from "bun:test";
import { concat, splittings } from "../helpers/chunks.ts";
import { ClientMessageParser, type ClientMessage } from "../../src/demo/client-messages.ts";
import { NOVNC_PIXEL_FORMAT } from "../helpers/rfb-client.ts";

function feed(parser: ClientMessageParser, chunks: Uint8Array[]): ClientMessage[] {
  return chunks.flatMap((c) => parser.push(c));
}

const handshake = concat("RFB 003.008\n", [2], new Uint8Array(16).fill(7), [1]);
const pixelFormat = [0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0];
const encodings = [2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x21];
const updateRequest = [3, 1, 0, 10, 0, 20, 1, 0, 0, 200];
const keyDown = [4, 1, 0, 0, 0, 0, 0xff, 0xe3];
const pointer = [5, 4, 0x01, 0x2c, 0x00, 0xc8];
const cutText = [6, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0xe9];

const expected: ClientMessage[] = [
  { type: "version", version: "RFB 003.008\n" },
  { type: "security-choice", securityType: 2 },
  { type: "auth-response", response: new Uint8Array(16).fill(7) },
  { type: "client-init", shared: true },
  {
    type: "set-pixel-format",
    format: NOVNC_PIXEL_FORMAT,
  },
  { type: "set-encodings", encodings: [0, 1, -223] },
  { type: "update-request", incremental: true, x: 10, y: 20, width: 256, height: 200 },
  { type: "key", down: true, keysym: 0xffe3 },
  { type: "pointer", buttons: 4, x: 300, y: 200 },
  { type: "cut-text", text: "hié", truncated: false },
];

describe("ClientMessageParser", () => {
  const session = concat(handshake, pixelFormat, encodings, updateRequest, keyDown, pointer, cutText);

  test.each(splittings(session))("parses a whole session fed %s", (_name, chunks) => {
    const parser = new ClientMessageParser();
    expect(feed(parser, chunks)).toEqual(expected);
    expect(parser.bufferedBytes).toBe(0);
  });

  test("returns nothing until a message is complete", () => {
    const parser = new ClientMessageParser({ startAt: "normal" });
    expect(parser.push(Uint8Array.from(keyDown.slice(0, 7)))).toEqual([]);
    expect(parser.bufferedBytes).toBe(7);
    expect(parser.push(Uint8Array.from(keyDown.slice(7)))).toEqual([{ type: "key", down: true, keysym: 0xffe3 }]);
  });

  test("returns several messages from one chunk in order", () => {
    const parser = new ClientMessageParser({ startAt: "normal" });
    const msgs = parser.push(concat(keyDown, [4, 0, 0, 0, 0, 0, 0xff, 0xe3]));
    expect(msgs).toEqual([
      { type: "key", down: true, keysym: 0xffe3 },
      { type: "key", down: false, keysym: 0xffe3 },
    ]);
  });

  test.each(splittings(concat(cutText.slice(0, 7), [10], "0123456789", keyDown)))(
    "keeps only the first bytes of an over-long cut text and drops the rest (%s)",
    (_name, chunks) => {
      const parser = new ClientMessageParser({ startAt: "normal", maxCutText: 4 });
      expect(feed(parser, chunks)).toEqual([
        { type: "cut-text", text: "0123", truncated: true },
        { type: "key", down: true, keysym: 0xffe3 },
      ]);
      expect(parser.bufferedBytes).toBe(0);
    },
  );

  test("never buffers more than the cap of a huge cut text", () => {
    const parser = new ClientMessageParser({ startAt: "normal", maxCutText: 16 });
    parser.push(Uint8Array.from([6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]));
    for (let i = 0; i < 100; i++) {
      parser.push(new Uint8Array(4096).fill(0x41));
      expect(parser.bufferedBytes).toBeLessThanOrEqual(16 + 8);
    }
  });

  test.each([
    ["a non-RFB greeting", concat("GET / HTTP/1.1\n"), "not an RFB client"],
    ["an unknown message type", concat(handshake, [42, 0, 0, 0]), "unsupported client message type 42"],
    ["a QEMU extension the server never offered", concat(handshake, [255, 0, 0, 0]), "unsupported client message type 255"],
  ])("reports %s as an error and then stops", (_name, bytes, reason) => {
    const parser = new ClientMessageParser();
    const msgs = parser.push(bytes);
    expect(msgs.at(-1)).toEqual({ type: "error", reason });
    expect(parser.push(Uint8Array.from(keyDown))).toEqual([]);
  });

  test("parses a SetEncodings with zero entries", () => {
    const parser = new ClientMessageParser({ startAt: "normal" });
    expect(parser.push(Uint8Array.from([2, 0, 0, 0]))).toEqual([{ type: "set-encodings", encodings: [] }]);
  });
});
