import { describe, expect, test } from "bun:test";
import { VncAuthRedactor, type RedactResult } from "../../src/rfb/redact-auth.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const bytes = (...parts: (string | number[] | Uint8Array)[]) => {
  const chunks = parts.map((p) => (typeof p === "string" ? enc(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};
const CHALLENGE = Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const RESPONSE = Array.from({ length: 16 }, (_, i) => 0x50 + i);
const ZEROS = new Array(16).fill(0);
const ok = (r: RedactResult): number[] => {
  if (r.kind !== "bytes") throw new Error(`unsafe: ${r.reason}`);
  return [...r.bytes];
};

type Step = ["down" | "up", Uint8Array];

/** Feeds a transcript whole, byte by byte, and returns what each direction recorded. */
function run(steps: Step[], byteByByte: boolean): { down: number[]; up: number[]; redactor: VncAuthRedactor } {
  const r = new VncAuthRedactor();
  const out = { down: [] as number[], up: [] as number[] };
  for (const [dir, b] of steps) {
    const pieces = byteByByte ? [...b].map((x) => Uint8Array.of(x)) : [b];
    for (const p of pieces) out[dir].push(...ok(dir === "down" ? r.fromServer(p) : r.fromClient(p)));
  }
  return { ...out, redactor: r };
}

describe("VncAuthRedactor", () => {
  const rfb38: Step[] = [
    ["down", bytes("RFB 003.008\n", [2, 1, 2])],
    ["up", bytes("RFB 003.008\n", [2])],
    ["down", bytes(CHALLENGE)],
    ["up", bytes(RESPONSE)],
    ["down", bytes([0, 0, 0, 0])],
    ["up", bytes([1], "after auth")],
  ];

  test.each([false, true])("RFB 3.8 VNC auth: challenge and response become zeros, everything else is kept (byte by byte: %p)", (split) => {
    const { down, up, redactor } = run(rfb38, split);
    expect(down).toEqual([...bytes("RFB 003.008\n", [2, 1, 2]), ...ZEROS, 0, 0, 0, 0]);
    expect(up).toEqual([...bytes("RFB 003.008\n", [2]), ...ZEROS, ...bytes([1], "after auth")]);
    expect(redactor.redacted).toBe(true);
    expect(redactor.done).toBe(true);
  });

  test("the relayed chunk itself is never changed (the recorder gets a copy)", () => {
    const r = new VncAuthRedactor();
    r.fromServer(bytes("RFB 003.008\n", [1, 2]));
    r.fromClient(bytes("RFB 003.008\n", [2]));
    // A Buffer, as Bun's sockets deliver them: its slice() would be a view, not a copy.
    const challenge = Buffer.from(CHALLENGE);
    expect(ok(r.fromServer(challenge))).toEqual(ZEROS);
    expect([...challenge]).toEqual(CHALLENGE);
  });

  test("VeNCrypt termination: the challenge can arrive before the browser chose; it is still zeroed", () => {
    const { down, up } = run(
      [
        ["down", bytes("RFB 003.008\n", [1, 2])],
        ["down", bytes(CHALLENGE)],
        ["up", bytes("RFB 003.008\n", [2], RESPONSE)],
      ],
      false,
    );
    expect(down.slice(14)).toEqual(ZEROS);
    expect(up.slice(13)).toEqual(ZEROS);
  });

  test("RFB 3.3: the server imposes VNC auth with a u32; challenge and response are zeroed", () => {
    const { down, up } = run(
      [
        ["down", bytes("RFB 003.003\n")],
        ["up", bytes("RFB 003.003\n")],
        ["down", bytes([0, 0, 0, 2], CHALLENGE)],
        ["up", bytes(RESPONSE, [1])],
      ],
      true,
    );
    expect(down.slice(16)).toEqual(ZEROS);
    expect(up.slice(12)).toEqual([...ZEROS, 1]);
  });

  test("security type None: nothing is secret, nothing changes", () => {
    const steps: Step[] = [
      ["down", bytes("RFB 003.008\n", [1, 1])],
      ["up", bytes("RFB 003.008\n", [1])],
      ["down", bytes([0, 0, 0, 0], CHALLENGE)],
      ["up", bytes(RESPONSE)],
    ];
    const { down, up, redactor } = run(steps, false);
    expect(down).toEqual([...bytes("RFB 003.008\n", [1, 1]), 0, 0, 0, 0, ...CHALLENGE]);
    expect(up).toEqual([...bytes("RFB 003.008\n", [1]), ...RESPONSE]);
    expect(redactor.redacted).toBe(false);
  });

  test.each([
    ["VeNCrypt chosen (its Plain subtype sends a password in the clear)", 19],
    ["an unknown type", 30],
  ])("%s: unsafe, the recording must stop", (_name, type) => {
    const r = new VncAuthRedactor();
    ok(r.fromServer(bytes("RFB 003.008\n", [2, 2, type])));
    const res = r.fromClient(bytes("RFB 003.008\n", [type]));
    expect(res.kind).toBe("unsafe");
    expect(r.fromServer(bytes([0, 2])).kind).toBe("unsafe");
  });

  test("an opening that is not RFB is unsafe", () => {
    expect(new VncAuthRedactor().fromServer(enc("HTTP/1.1 200 OK\r\n")).kind).toBe("unsafe");
  });

  test("a version line that is not RFB 3.x makes it unsafe, naming the side that sent it", () => {
    expect(new VncAuthRedactor().fromServer(enc("RFB 004.000\n"))).toEqual({ kind: "unsafe", reason: "unreadable RFB version from the server" });
    const r = new VncAuthRedactor();
    ok(r.fromServer(bytes("RFB 003.008\n", [1, 2])));
    expect(r.fromClient(enc("GET / HTTP/1.1\r\n"))).toEqual({ kind: "unsafe", reason: "unreadable RFB version from the client" });
  });
});
