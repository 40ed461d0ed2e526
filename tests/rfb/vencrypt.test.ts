import { describe, expect, test } from "bun:test";
import { VencryptHandshake, type VencryptAction } from "../../src/rfb/vencrypt.ts";

const enc = new TextEncoder();
const u8 = (...b: number[]) => new Uint8Array(b);
const u32 = (n: number) => u8((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const cat = (...parts: (Uint8Array | string)[]) => {
  const bufs = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bufs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
};

// What QEMU with tls-creds + password=on sends, step by step (ui/vnc.c, ui/vnc-auth-vencrypt.c).
const VERSION = "RFB 003.008\n";
const SEC_TYPES = u8(1, 19);
const VENC_VERSION = u8(0, 2);
const VENC_ACK = u8(0);
const SUBTYPES = cat(u8(1), u32(261));
const ACCEPT = u8(1);
const QEMU = cat(VERSION, SEC_TYPES, VENC_VERSION, VENC_ACK, SUBTYPES, ACCEPT);
/** What we must answer, all sends concatenated. */
const ANSWERS = cat("RFB 003.008\n", u8(19), u8(0, 2), u32(261));

/** Splits bytes into chunks of the given sizes, cycling; the last chunk takes the rest. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}

/** Seeded splits so a failure can be replayed. */
function randomSizes(seed: number, count: number): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (x % 6);
  });
}

const SPLITS: [string, number[]][] = [
  ["whole", [1 << 20]],
  ["one byte at a time", [1]],
  ["chunks of 2", [2]],
  ["chunks of 3", [3]],
  ["chunks of 5 and 7", [5, 7]],
  ["chunks of 13", [13]],
  ["seeded random chunks (1)", randomSizes(1, 64)],
  ["seeded random chunks (42)", randomSizes(42, 64)],
];

function runAll(input: Uint8Array, sizes: number[]) {
  const hs = new VencryptHandshake();
  const actions: VencryptAction[] = [];
  for (const chunk of chunked(input, sizes)) actions.push(...hs.feed(chunk));
  const sent = cat(...actions.flatMap((a) => (a.kind === "send" ? [a.bytes] : [])));
  const fail = actions.find((a) => a.kind === "fail");
  return { hs, actions, sent, reason: fail?.kind === "fail" ? fail.reason : undefined };
}

describe("VencryptHandshake against a QEMU-like server", () => {
  test.each(SPLITS)("completes fed %s", (_name, sizes) => {
    const { hs, actions, sent, reason } = runAll(QEMU, sizes);
    expect(reason).toBeUndefined();
    expect([...sent]).toEqual([...ANSWERS]);
    const kinds = actions.filter((a) => a.kind !== "send").map((a) => a.kind);
    expect(kinds).toEqual(["startTls", "done"]);
    expect(actions.at(-1)).toEqual({ kind: "done", serverVersion: VERSION });
    expect(hs.finished).toBe(true);
  });

  test("answers each step as soon as its bytes are complete, not before", () => {
    const hs = new VencryptHandshake();
    expect(hs.feed(enc.encode("RFB 003.00"))).toEqual([]);
    expect(hs.step).toBe("RFB version");
    expect(hs.feed(enc.encode("8\n"))).toEqual([{ kind: "send", bytes: enc.encode("RFB 003.008\n") }]);
    expect(hs.feed(u8(2, 1))).toEqual([]);
    expect(hs.step).toBe("security types");
    expect(hs.feed(u8(19))).toEqual([{ kind: "send", bytes: u8(19) }]);
    expect(hs.feed(u8(0, 2))).toEqual([{ kind: "send", bytes: u8(0, 2) }]);
    expect(hs.feed(u8(0, 1, 0, 0))).toEqual([]);
    expect(hs.step).toBe("VeNCrypt subtypes");
    expect(hs.feed(u8(1, 5))).toEqual([{ kind: "send", bytes: u32(261) }]);
    expect(hs.step).toBe("VeNCrypt subtype acceptance");
    expect(hs.finished).toBe(false);
    expect(hs.feed(u8(1))).toEqual([{ kind: "startTls" }, { kind: "done", serverVersion: VERSION }]);
  });

  test("picks VeNCrypt and X509VNC out of longer lists", () => {
    const server = cat(VERSION, u8(3, 1, 2, 19), VENC_VERSION, VENC_ACK, u8(3), u32(256), u32(261), u32(262), ACCEPT);
    const { reason, sent } = runAll(server, [1]);
    expect(reason).toBeUndefined();
    expect([...sent]).toEqual([...ANSWERS]);
  });

  test("accepts a server offering a newer RFB 3.x and answers 3.8", () => {
    const { reason, sent } = runAll(cat("RFB 003.889\n", SEC_TYPES, VENC_VERSION, VENC_ACK, SUBTYPES, ACCEPT), [3]);
    expect(reason).toBeUndefined();
    expect([...sent]).toEqual([...ANSWERS]);
  });
});

const refusal = (text: string) => cat(u8(0), u32(text.length), text);

describe("VencryptHandshake failures", () => {
  test.each([
    ["a server offering only VNC auth and None", cat(VERSION, u8(2, 1, 2)), "VNC server does not offer TLS (VeNCrypt)"],
    ["a server offering only None", cat(VERSION, u8(1, 1)), "VNC server does not offer TLS (VeNCrypt)"],
    ["VeNCrypt without X509VNC", cat(VERSION, SEC_TYPES, VENC_VERSION, VENC_ACK, u8(2), u32(256), u32(258)), "VeNCrypt: server lacks X509VNC (offers 256,258)"],
    ["VeNCrypt with zero subtypes", cat(VERSION, SEC_TYPES, VENC_VERSION, VENC_ACK, u8(0)), "VeNCrypt: server offers no subtypes"],
    ["VeNCrypt version 0.1", cat(VERSION, SEC_TYPES, u8(0, 1)), "VeNCrypt: unsupported version 0.1"],
    ["VeNCrypt version 1.0", cat(VERSION, SEC_TYPES, u8(1, 0)), "VeNCrypt: unsupported version 1.0"],
    ["a rejected VeNCrypt version", cat(VERSION, SEC_TYPES, VENC_VERSION, u8(1)), "VeNCrypt: server rejected version 0.2"],
    ["a rejected subtype", cat(VERSION, SEC_TYPES, VENC_VERSION, VENC_ACK, SUBTYPES, u8(0)), "VeNCrypt: server rejected X509VNC"],
    ["a refusal with a reason", cat(VERSION, refusal("Too many security failures")), "VNC server refused: Too many security failures"],
    ["a refusal whose reason has control characters", cat(VERSION, refusal("bad\r\n\x00\x1bthing")), "VNC server refused: bad thing"],
    ["a refusal with an empty reason", cat(VERSION, u8(0), u32(0)), "VNC server refused the connection"],
    ["a refusal with an absurd reason length", cat(VERSION, u8(0), u32(0xffffffff)), "VNC server refused the connection"],
    ["an RFB 3.3 server", cat("RFB 003.003\n"), "VNC server speaks RFB 3.3; VeNCrypt needs 3.8"],
    ["an RFB 4.0 server", cat("RFB 004.000\n"), "VNC server speaks RFB 4.0; VeNCrypt needs 3.8"],
    ["an HTTP server", cat("HTTP/1.1 400 Bad Request\r\n"), "VNC server did not send an RFB version"],
    ["a version without the newline", cat("RFB 003.008 "), "VNC server did not send an RFB version"],
  ])("fails on %s", (_name, input, expected) => {
    for (const [, sizes] of SPLITS) {
      const { reason, actions, hs } = runAll(input, sizes);
      expect(reason).toBe(expected);
      // The failure is the last action and nothing else (no TLS) follows.
      expect(actions.at(-1)).toEqual({ kind: "fail", reason: expected });
      expect(actions.some((a) => a.kind === "startTls")).toBe(false);
      expect(hs.finished).toBe(true);
    }
  });

  test("cuts a long refusal reason short", () => {
    const { reason } = runAll(cat(VERSION, refusal("x".repeat(500))), [7]);
    expect(reason).toBe(`VNC server refused: ${"x".repeat(60)}...`);
  });

  test("sends nothing after refusing VeNCrypt-less servers but the version", () => {
    const { sent } = runAll(cat(VERSION, u8(1, 2)), [1]);
    expect([...sent]).toEqual([...enc.encode("RFB 003.008\n")]);
  });

  test("ignores bytes fed after a failure", () => {
    const hs = new VencryptHandshake();
    expect(hs.feed(enc.encode("RFB 003.003\n")).at(-1)?.kind).toBe("fail");
    expect(hs.feed(QEMU)).toEqual([]);
  });

  test("fails, without starting TLS, when data follows the acceptance in the same chunk", () => {
    const hs = new VencryptHandshake();
    const out = hs.feed(cat(QEMU, u8(0x16)));
    expect(out.at(-1)).toEqual({ kind: "fail", reason: "VeNCrypt: unexpected data before TLS" });
    expect(out.some((a) => a.kind === "startTls" || a.kind === "done")).toBe(false);
  });

  test("fails on data arriving after it finished", () => {
    const hs = new VencryptHandshake();
    expect(hs.feed(QEMU).at(-1)?.kind).toBe("done");
    expect(hs.feed(u8(0x16, 3, 1))).toEqual([{ kind: "fail", reason: "VeNCrypt: unexpected data before TLS" }]);
  });

  test("fails, not grows, when a server floods an endless list", () => {
    const hs = new VencryptHandshake();
    hs.feed(cat(VERSION, u8(0), u32(1000)));
    const out = hs.feed(new Uint8Array(16 * 1024));
    expect(out).toEqual([{ kind: "fail", reason: "VNC server sent too much data" }]);
  });
});
