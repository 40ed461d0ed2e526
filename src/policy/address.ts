/**
 * Strict IP address text <-> bytes. Only canonical spellings parse, so the address the
 * allowlist checks is always the address we connect to: no `127.1`, `2130706433`,
 * `0x7f.0.0.1`, `0177.0.0.1`, trailing dots, blanks, zone ids or brackets.
 * Pure: no I/O.
 */

/** An IP address as bytes: 4 for IPv4, 16 for IPv6. */
export type Ip = { family: 4 | 6; bytes: Uint8Array };

const V4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const V6_CHARS = /^[0-9a-fA-F:.]+$/;

/** Dotted-quad decimal with no leading zeros and each part 0-255, else null. */
function parseV4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!V4_OCTET.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

/** Groups of 1-4 hex digits split by `:` (any case), or null. */
function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  for (const g of text.split(":")) {
    if (!V6_GROUP.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

/** RFC 4291 section 2.2 text form (any hex case, optional `::`, optional trailing dotted quad). */
function parseV6(text: string): Uint8Array | null {
  if (!V6_CHARS.test(text)) return null;
  let tail: number[] = [];
  let body = text;
  if (text.includes(".")) {
    // An embedded IPv4 address may only be the last 32 bits.
    const cut = text.lastIndexOf(":");
    if (cut < 0) return null;
    const v4 = parseV4(text.slice(cut + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Keep the ":" of a "::" that ends right before the IPv4 part ("::1.2.3.4").
    body = text.slice(0, cut);
    if (body.endsWith(":")) body += ":";
    else if (body === "") return null;
  }
  const halves = body.split("::");
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(body);
    if (!all) return null;
    groups = [...all, ...tail];
    if (groups.length !== 8) return null;
  } else if (halves.length === 2) {
    const head = parseGroups(halves[0]!);
    const rest = parseGroups(halves[1]!);
    if (!head || !rest) return null;
    const known = head.length + rest.length + tail.length;
    if (known > 7) return null;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  } else {
    return null;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Parse an IP literal strictly: canonical IPv4 dotted quad, or IPv6 text without zone id or
 * brackets. Anything else (including surrounding blanks) is null, so callers can refuse it.
 */
export function parseIp(text: string): Ip | null {
  if (typeof text !== "string" || text.length === 0 || text.length > 45) return null;
  if (text.includes(":")) {
    const bytes = parseV6(text);
    return bytes ? { family: 6, bytes } : null;
  }
  const bytes = parseV4(text);
  return bytes ? { family: 4, bytes } : null;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Canonical text: dotted quad for IPv4, RFC 5952 for IPv6 (`::ffff:a.b.c.d` for mapped). */
export function formatIp(ip: Ip): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (startsWith(b, MAPPED_PREFIX)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of two or more zero groups, the first one on a tie (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Why an IPv4 address can never be a target, or null. */
function v4Reason(b: Uint8Array): string | null {
  const first = b[0]!;
  if (first === 0) return "unspecified";
  if (first === 169 && b[1] === 254) return "link-local";
  if (first >= 224 && first <= 239) return "multicast";
  if (b.every((x) => x === 255)) return "broadcast";
  if (first >= 240) return "reserved";
  return null;
}

/**
 * Why this address may never be connected to, whatever the allowlist says (link-local,
 * unspecified, multicast, broadcast, reserved, IPv6 forms that smuggle an IPv4 address), or null.
 */
export function forbiddenReason(ip: Ip): string | null {
  const b = ip.bytes;
  const text = formatIp(ip);
  if (ip.family === 4) {
    const why = v4Reason(b);
    return why ? `target ${text} is ${why}` : null;
  }
  // ::ffff:0:0/96 (mapped) and ::ffff:0:0:0/96 (SIIT translated) both reach an IPv4 host.
  if (startsWith(b, MAPPED_PREFIX) || (allZero(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0)) {
    return `IPv4-mapped IPv6 address not allowed: ${text}`;
  }
  if (allZero(b, 0, 16)) return `target ${text} is unspecified`;
  if (allZero(b, 0, 12) && !(allZero(b, 12, 15) && b[15] === 1)) {
    return `IPv4-compatible IPv6 address not allowed: ${text}`;
  }
  // 64:ff9b::/96 and 64:ff9b:1::/48: NAT64 would forward to the embedded IPv4 address.
  if (startsWith(b, [0, 0x64, 0xff, 0x9b]) && (allZero(b, 4, 12) || (b[4] === 0 && b[5] === 1))) {
    return `IPv4-translated (NAT64) IPv6 address not allowed: ${text}`;
  }
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return `target ${text} is link-local`;
  if (b[0] === 0xff) return `target ${text} is multicast`;
  return null;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

/**
 * A canonical DNS host name: lowercase letters, digits and hyphens, labels of 1-63, at most 253
 * characters, no trailing dot, and a last label that is not a number (`127.1`, `0x7f`,
 * `2130706433` would otherwise reach the system resolver, which reads them as IPv4 addresses).
 */
export function isValidHostName(name: string): boolean {
  if (typeof name !== "string" || name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) return false;
  return !NUMERIC_LABEL.test(labels[labels.length - 1]!);
}
