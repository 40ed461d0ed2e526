import { describe, expect, test } from "bun:test";
import {
  FrameDecoder,
  acceptFor,
  encodeFrame,
  frameHeaderLength,
  kubevirtProtocols,
  readUpgradeAnswer,
  upgradeRequest,
  writeFrameHeader,
  type FrameEvent,
} from "../../src/relay/stages/websocket-client.ts";
import { concat, splittings } from "../helpers/chunks.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

describe("KubeVirt subprotocols", () => {
  test("bearer token as base64url without padding, then plain.kubevirt.io", () => {
    // "ab?" is "YWI/" in standard base64: base64url has "_" and no "=".
    expect(kubevirtProtocols("ab?~")).toEqual(["base64url.bearer.authorization.k8s.io.YWI_fg", "plain.kubevirt.io"]);
  });
  test("no token: only plain.kubevirt.io", () => {
    expect(kubevirtProtocols(null)).toEqual(["plain.kubevirt.io"]);
  });
});

describe("upgrade request and answer", () => {
  test("the request names the path, host and both subprotocols", () => {
    const r = upgradeRequest("/apis/x/vnc", "kube.example:6443", KEY, ["a", "b"]);
    expect(r).toBe(
      "GET /apis/x/vnc HTTP/1.1\r\nHost: kube.example:6443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\n\r\n`,
    );
  });

  test("RFC 6455's example key gives its example accept", () => {
    expect(acceptFor(KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  const accept = acceptFor(KEY);
  const good = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: plain.kubevirt.io\r\n\r\n`;

  test("a 101 with the right accept and an offered protocol is ok; frame bytes after it are kept", () => {
    const head = concat(good, [0x82, 1, 42]);
    const partial = readUpgradeAnswer(head.subarray(0, 20), accept, ["plain.kubevirt.io"]);
    expect(partial.kind).toBe("need-more");
    const a = readUpgradeAnswer(head, accept, ["x", "plain.kubevirt.io"]);
    expect(a.kind).toBe("ok");
    if (a.kind === "ok") expect([...a.rest]).toEqual([0x82, 1, 42]);
  });

  test.each([
    ["HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", "refused the upgrade (HTTP 401)"],
    [good.replace(accept, "AAAA"), "wrong Sec-WebSocket-Accept"],
    [good.replace("plain.kubevirt.io", "other"), "chose no offered subprotocol"],
    [good.replace("Upgrade: websocket\r\n", ""), "answer lacks Upgrade: websocket"],
    ["SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"],
  ])("%j fails: %s", (text, reason) => {
    expect(readUpgradeAnswer(concat(text), accept, ["plain.kubevirt.io"])).toEqual({ kind: "fail", reason });
  });

  test("an answer that never ends is refused past the cap", () => {
    expect(readUpgradeAnswer(new Uint8Array(17 * 1024).fill(0x41), accept, [])).toEqual({ kind: "fail", reason: "upgrade answer too long" });
  });
});

describe("frames", () => {
  test("client frames are masked and carry the payload XORed with the mask", () => {
    const f = encodeFrame(2, Uint8Array.of(1, 2, 3), Uint8Array.of(0xff, 0, 0xff, 0));
    expect([...f]).toEqual([0x82, 0x83, 0xff, 0, 0xff, 0, 0xfe, 2, 0xfc]);
    const big = encodeFrame(2, new Uint8Array(70000), Uint8Array.of(0, 0, 0, 0));
    expect([...big.subarray(0, 10)]).toEqual([0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    expect(big.byteLength).toBe(14 + 70000);
  });

  test.each([
    [125, [0x82, 0x80 | 125]],
    [126, [0x82, 0x80 | 126, 0, 126]],
    [65535, [0x82, 0x80 | 126, 0xff, 0xff]],
    [65536, [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    [2 ** 32 + 5, [0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 5]],
  ])("a header announcing %p bytes uses the shortest length form, then the mask", (len, head) => {
    const out = new Uint8Array(frameHeaderLength(len));
    expect(writeFrameHeader(out, 2, len, Uint8Array.of(9, 8, 7, 6))).toBe(out.byteLength);
    expect([...out]).toEqual([...head, 9, 8, 7, 6]);
  });

  /** Server frames (unmasked). */
  const frame = (opcode: number, payload: number[] | Uint8Array, fin = true) => {
    const p = Uint8Array.from(payload);
    const len = p.length < 126 ? [p.length] : [126, p.length >> 8, p.length & 0xff];
    return concat([(fin ? 0x80 : 0) | opcode, ...len], p);
  };
  const stream = concat(frame(2, [1, 2, 3]), frame(9, [7]), frame(2, new Uint8Array(300).fill(5), false), frame(0, [6]), frame(8, [0x03, 0xe8]));

  for (const [how, chunks] of splittings(stream)) {
    test(`the decoder yields data in order, pings and the close code (${how})`, () => {
      const d = new FrameDecoder();
      const events: FrameEvent[] = [];
      for (const c of chunks) d.feed(c, events);
      const data = events.filter((e) => e.kind === "data").flatMap((e) => (e.kind === "data" ? [...e.bytes] : []));
      expect(data).toEqual([1, 2, 3, ...new Array(300).fill(5), 6]);
      expect(events.filter((e) => e.kind !== "data")).toEqual([
        { kind: "ping", payload: Uint8Array.of(7) },
        { kind: "close", code: 1000 },
      ]);
    });
  }

  test.each([
    ["a masked frame", [0x82, 0x81, 0, 0, 0, 0, 1], "masked frame from the target"],
    ["a text frame", [0x81, 1, 65], "text frame from the target"],
    ["reserved bits", [0xc2, 1, 65], "frame with reserved bits"],
    ["a fragmented ping", [0x09, 0], "bad control frame"],
    ["an unknown opcode", [0x83, 0], "unknown opcode 3"],
  ])("%s fails", (_name, bytes, reason) => {
    const events: FrameEvent[] = [];
    new FrameDecoder().feed(Uint8Array.from(bytes), events);
    expect(events.at(-1)).toEqual({ kind: "fail", reason });
  });
});
