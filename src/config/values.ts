/**
 * Parsers for single setting values (numbers, listen addresses, word lists) and the "did you
 * mean" hint. Each throws `BadValue` with only the problem; the caller adds where the value came
 * from (flag, env variable, FILE:LINE), so one parser serves every source. Pure.
 */
import { isBooleanWord, isTrue } from "./ovirt-conf.ts";
import { printable } from "../printable.ts";

/** A value that does not parse; the message says what was expected, never where. */
export class BadValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadValue";
  }
}

/** A whole decimal number within `min..max` (no sign, no exponent, no hex). */
export function parseWholeNumber(text: string, min: number, max: number): number {
  const s = text.trim();
  if (!/^\d{1,16}$/.test(s)) throw new BadValue(`expected a whole number from ${min} to ${max}`);
  const n = Number(s);
  if (n < min || n > max) throw new BadValue(`expected a whole number from ${min} to ${max}`);
  return n;
}

/** One of a fixed list of words. */
export function parseOneOf<const W extends string>(text: string, words: readonly W[]): W {
  const s = text.trim();
  if (!(words as readonly string[]).includes(s)) throw new BadValue(`expected ${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`);
  return s as W;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

/** A size in bytes, at least 1, optionally with a binary unit: `1048576`, `512MiB`, `1g`. */
export function parseByteSize(text: string): number {
  const m = /^(\d{1,16})\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new BadValue("expected a size in bytes, e.g. 1048576, 512MiB or 1GiB");
  const n = Number(m[1]) * unit;
  if (n < 1 || !Number.isSafeInteger(n)) throw new BadValue("expected a size from 1 byte to 8 PiB");
  return n;
}

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** `[HOST:]PORT`: "6100", "127.0.0.1:6100", "[::1]:6100", "*:6100" (all addresses). */
export function parseListen(text: string): ListenAddress {
  const v = text.trim();
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):)?(\d{1,5})$/.exec(v);
  if (!m) throw new BadValue("expected [HOST:]PORT, IPv6 in brackets");
  const port = Number(m[3]);
  if (port > 65535) throw new BadValue("port out of range");
  let hostname = m[1] ?? m[2] ?? "";
  if (hostname === "" || hostname === "*") hostname = "0.0.0.0";
  return { hostname, port };
}

/** Text of a listen address as `--listen` takes it. */
export function listenText(a: ListenAddress): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** A boolean from env or a file: oVirt's words; anything else is a mistake, not "false". */
export function parseBooleanWord(text: string): boolean {
  if (!isBooleanWord(text)) throw new BadValue("expected true or false");
  return isTrue(text);
}

/** Attacker- or typo-supplied text for an error line: printable ASCII, bounded. */
export function shownValue(text: string): string {
  return printable(text, 80);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known name closest to `name` when it is close enough to be a typo, else undefined. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}
