/**
 * Seeded generators for hostile input (tests/attack/*): the same seed always yields the same
 * sequence, so a failing input can be reproduced from the seed and index printed by the test.
 * Pure: no I/O, no clock.
 */

/** A small, fast, seeded PRNG (mulberry32): uniform 32-bit values. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n;
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A string of `n` characters drawn from `alphabet`. */
  stringFrom(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

export const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Characters that tend to break parsers: quotes, escapes, separators, controls, non-ASCII, lone surrogates. */
const NASTY = ['"', "\\", "%", "%2", "%zz", "%00", "\u0000", "\n", "\r", "{", "}", "[", "]", ",", ":", "=", "+", "/", " ", "\u00e9", "\u2028", "\ufeff", "\ud800", "\udfff", "\ud83d\ude00", "\u202e", "0", "-1", "1e309", "NaN"];

/** A short hostile string: random picks from the nasty list mixed with ASCII. */
export function nastyString(rng: Rng, maxParts = 8): string {
  let s = "";
  const parts = rng.range(0, maxParts);
  for (let i = 0; i < parts; i++) {
    s += rng.chance(0.5) ? rng.pick(NASTY) : rng.stringFrom("abcXYZ0123456789.-_", rng.range(1, 4));
  }
  return s;
}

/** A JSON value of the wrong kind for a string field. */
export function wrongType(rng: Rng): unknown {
  return rng.pick<unknown>([null, 0, -1, 1.5, 1e308, true, false, [], [""], {}, { a: "b" }, Number.MAX_SAFE_INTEGER + 2]);
}

/** JSON text nested `depth` levels deep (arrays or objects), the classic parser stack breaker. */
export function deepJson(depth: number, kind: "array" | "object" = "array"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Standard padded base64 of UTF-8 text or bytes. */
export function b64(data: string | Uint8Array): string {
  return Buffer.from(data as string).toString("base64");
}

/** One random edit: replace, insert or delete a character (from `alphabet`) at a random place. */
export function mutate(rng: Rng, text: string, alphabet: string): string {
  if (text.length === 0) return rng.stringFrom(alphabet, 1);
  const at = rng.int(text.length);
  switch (rng.int(3)) {
    case 0:
      return text.slice(0, at) + alphabet[rng.int(alphabet.length)] + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + alphabet[rng.int(alphabet.length)] + text.slice(at);
    default:
      return text.slice(0, at) + text.slice(at + 1);
  }
}

/** `n` random edits in a row. */
export function mutateMany(rng: Rng, text: string, alphabet: string, n: number): string {
  let out = text;
  for (let i = 0; i < n; i++) out = mutate(rng, out, alphabet);
  return out;
}
