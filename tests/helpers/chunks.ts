/**
 * Byte transcripts for sans-I/O parsers: build a stream from parts, and replay it whole, byte by
 * byte and at deterministic pseudo-random splits (TCP and websockets split anywhere).
 */

export function concat(...parts: (number[] | Uint8Array | string)[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** Splits `bytes` whole, byte by byte, and at deterministic pseudo-random points. */
export function splittings(bytes: Uint8Array, seed = 12345): [string, Uint8Array[]][] {
  const single = [...bytes].map((b) => Uint8Array.of(b));
  const random: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (seed % 7);
    random.push(bytes.subarray(i, i + n));
    i += n;
  }
  return [
    ["whole", [bytes]],
    ["byte by byte", single],
    ["random splits", random],
  ];
}
