/**
 * CIDR blocks: parsing (strict, canonical addresses only) and matching. Used by the target
 * allowlist and by the client-address lists (`--trusted-proxy`, `--metrics-allow`). Pure.
 */
import { ConfigError } from "../errors.ts";
import { type Ip, parseIp, formatIp } from "./address.ts";

export interface Cidr {
  base: Ip;
  prefix: number;
}

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** `ADDR` or `ADDR/LEN`, split already; throws a plain Error naming the problem. */
export function parseCidr(addrText: string, prefixText: string | null): Cidr {
  const base = parseIp(addrText);
  if (!base) throw new Error(`"${addrText}" is not a canonical IP address`);
  const max = base.family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== null) {
    if (!PREFIX.test(prefixText) || Number(prefixText) > max) throw new Error(`prefix length must be 0-${max}`);
    prefix = Number(prefixText);
  }
  const masked = maskBytes(base.bytes, prefix);
  if (!masked.every((b, i) => b === base.bytes[i])) {
    throw new Error(`host bits set (did you mean ${formatIp({ family: base.family, bytes: masked })}/${prefix}?)`);
  }
  return { base, prefix };
}

export function inCidr(ip: Ip, cidr: Cidr): boolean {
  if (ip.family !== cidr.base.family) return false;
  const masked = maskBytes(ip.bytes, cidr.prefix);
  return masked.every((b, i) => b === cidr.base.bytes[i]);
}

/** `cidrText(c)`: canonical text, `/len` left out for a single address. */
export function cidrText(c: Cidr): string {
  const full = c.prefix === (c.base.family === 4 ? 32 : 128);
  return full ? formatIp(c.base) : `${formatIp(c.base)}/${c.prefix}`;
}

/** A peer address as a socket reports it: IPv4-mapped IPv6 (dual-stack listeners) becomes IPv4. */
export function parsePeerAddress(text: string): Ip | null {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return parseIp(m ? m[1]! : text);
}

/**
 * Compiles a list of client CIDRs (`--trusted-proxy`, `--metrics-allow`) into a predicate over
 * peer addresses. A bad entry throws ConfigError naming the flag. `emptyMeans` decides an empty list.
 */
export function compileCidrList(specs: readonly string[], flag: string, emptyMeans: boolean): (peer: string) => boolean {
  const cidrs = specs.map((spec) => {
    const s = spec.trim();
    const slash = s.indexOf("/");
    try {
      return slash < 0 ? parseCidr(s, null) : parseCidr(s.slice(0, slash), s.slice(slash + 1));
    } catch (err) {
      throw new ConfigError(`${flag} "${spec}": ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  if (cidrs.length === 0) return () => emptyMeans;
  return (peer) => {
    const ip = parsePeerAddress(peer);
    return ip !== null && cidrs.some((c) => inCidr(ip, c));
  };
}
