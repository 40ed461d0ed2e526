/**
 * Attack: a hostile VNC server (the other side of the proxy). Seeded server byte streams, fed in
 * random chunkings to the sans-I/O VeNCrypt client and to the plain-relay security-offer sniffer:
 * nothing throws, the handshake always ends in done, fail or "waiting for more", its buffer stays
 * bounded, and a stream that is not exactly the VeNCrypt X509VNC opening never reaches TLS.
 */
import { describe, expect, test } from "bun:test";
import { VencryptHandshake, type VencryptAction } from "../../src/rfb/vencrypt.ts";
import { readSecurityOffer, requiresTls } from "../../src/rfb/security-offer.ts";
import { Rng } from "../helpers/fuzz.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const u32 = (n: number) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
};

/** QEMU's opening with vnc_tls=1, step by step (version; types; VeNCrypt version; ack; subtypes; accept). */
const GOOD = cat(enc("RFB 003.008\n"), new Uint8Array([1, 19]), new Uint8Array([0, 2]), new Uint8Array([0]), new Uint8Array([1]), u32(261), new Uint8Array([1]));

/** Independent reference: is `b` exactly a valid VeNCrypt X509VNC opening, with nothing after it? */
function isValidOpening(b: Uint8Array): boolean {
  const version = /^RFB 003\.(\d{3})\n$/.exec(String.fromCharCode(...b.subarray(0, 12)));
  if (!version || Number(version[1]) < 8) return false;
  let at = 12;
  const n = b[at++] ?? 0;
  if (n === 0 || !Array.from(b.subarray(at, at + n)).includes(19) || b.length < at + n) return false;
  at += n;
  if (b[at] !== 0 || (b[at + 1] ?? 0) < 2 || b[at + 2] !== 0) return false;
  at += 3;
  const m = b[at++] ?? 0;
  if (m === 0 || b.length < at + 4 * m) return false;
  const subtypes = Array.from({ length: m }, (_, k) => new DataView(b.buffer, b.byteOffset + at + 4 * k, 4).getUint32(0));
  at += 4 * m;
  return subtypes.includes(261) && b[at] === 1 && b.length === at + 1;
}

function hostileStream(rng: Rng, i: number): Uint8Array {
  switch (i % 6) {
    case 0:
      return rng.bytes(rng.range(0, 512));
    case 1: {
      // The good opening with a few bytes changed, inserted or removed.
      const b = Array.from(GOOD);
      for (let k = rng.range(1, 3); k > 0; k--) {
        const at = rng.int(b.length);
        const r = rng.int(3);
        if (r === 0) b[at] = rng.int(256);
        else if (r === 1) b.splice(at, 0, rng.int(256));
        else b.splice(at, 1);
      }
      return new Uint8Array(b);
    }
    case 2:
      // A refusal with an absurd reason length, then junk.
      return cat(enc("RFB 003.008\n"), new Uint8Array([0]), u32(rng.pick([0, 1, 1024, 1025, 0x7fffffff, 0xffffffff])), rng.bytes(rng.range(0, 2048)));
    case 3:
      // Many security types / subtypes.
      return cat(enc("RFB 003.008\n"), new Uint8Array([255]), rng.bytes(255), new Uint8Array([0, 2, 0, 255]), rng.bytes(1020));
    case 4:
      // The good opening followed by bytes before TLS (a server that is not really VeNCrypt).
      return cat(GOOD, rng.bytes(rng.range(1, 64)));
    default:
      // Other versions and truncations.
      return cat(enc(rng.pick(["RFB 003.003\n", "RFB 003.007\n", "RFB 004.001\n", "RFB 003.889\n", "RFB 003.008", "HTTP/1.1 200"])), rng.bytes(rng.range(0, 64)));
  }
}

describe("a hostile VNC server against the VeNCrypt client and the offer sniffer", () => {
  test("20 000 seeded streams in random chunks: no throw, bounded output, TLS only after a valid X509VNC opening", () => {
    const rng = new Rng(0x5eed);
    const wrong: string[] = [];
    let reachedTls = 0;
    for (let i = 0; i < 20_000; i++) {
      const stream = hostileStream(rng, i);
      const hs = new VencryptHandshake();
      const actions: VencryptAction[] = [];
      try {
        // Feed everything: bytes after "done" (before our ClientHello) must turn into a failure.
        for (let off = 0; off < stream.length; ) {
          const n = rng.range(1, 40);
          actions.push(...hs.feed(stream.subarray(off, off + n)));
          off += n;
        }
        readSecurityOffer(stream.subarray(0, 64));
      } catch (err) {
        wrong.push(`#${i}: threw ${String(err).slice(0, 80)}`);
        continue;
      }
      const sent = actions.filter((a) => a.kind === "send").reduce((n, a) => n + (a as { bytes: Uint8Array }).bytes.length, 0);
      if (sent > 64) wrong.push(`#${i}: sent ${sent} bytes`);
      const tls = actions.some((a) => a.kind === "startTls");
      if (tls) {
        reachedTls++;
        const failedAfter = actions.some((a) => a.kind === "fail");
        if (!failedAfter && !isValidOpening(stream)) wrong.push(`#${i}: TLS started on a stream that is not the exact opening`);
      }
      for (const a of actions) if (a.kind === "fail" && (a.reason.length > 120 || /[^\x20-\x7e]/.test(a.reason))) wrong.push(`#${i}: unsafe reason`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(reachedTls).toBeGreaterThan(0);
  });

  test("the exact opening reaches TLS however it is chunked", () => {
    for (const size of [1, 2, 3, 5, 7, GOOD.length]) {
      const hs = new VencryptHandshake();
      const actions: VencryptAction[] = [];
      for (let off = 0; off < GOOD.length; off += size) actions.push(...hs.feed(GOOD.subarray(off, off + size)));
      expect(actions.some((a) => a.kind === "startTls")).toBe(true);
      expect(actions.some((a) => a.kind === "fail")).toBe(false);
    }
  });

  test("a VeNCrypt-only offer is recognised however many types precede it", () => {
    expect(requiresTls((readSecurityOffer(cat(enc("RFB 003.008\n"), new Uint8Array([1, 19]))) as { types: number[] }).types)).toBe(true);
    const many = cat(enc("RFB 003.008\n"), new Uint8Array([40]), new Uint8Array(39).fill(19), new Uint8Array([19]));
    const offer = readSecurityOffer(many);
    expect(offer.kind).toBe("types");
    if (offer.kind === "types") expect(requiresTls(offer.types)).toBe(true);
  });
});
