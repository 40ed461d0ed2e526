/**
 * Turn a ticket's host into the one address we connect to. A name is resolved once, every
 * address it resolves to must pass the allowlist (a rebinding name that mixes an allowed
 * address with a forbidden one is refused outright), and the caller connects to the address
 * returned here, never resolving again. The only I/O is the injected resolver.
 */
import { lookup } from "node:dns/promises";
import { type Ip, parseIp, formatIp, forbiddenReason, isValidHostName } from "./address.ts";
import type { Allowlist } from "./allowlist.ts";

/** Resolves a host name to all its addresses; injectable so tests need no DNS. */
export type Resolver = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address in resolver order. */
export const systemResolver: Resolver = async (host) => {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Where to connect, or why not. */
export type TargetDecision =
  | { ok: true; address: string; family: 4 | 6 }
  | { ok: false; reason: string };

function refuse(reason: string): TargetDecision {
  return { ok: false, reason };
}

/**
 * Decide where to connect for a ticket's host and port. An IP literal must be spelled
 * canonically; a host name must be a canonical lowercase DNS name, is resolved once, and all
 * of its addresses must pass the allowlist. Returns the first resolved address on success.
 */
export async function resolveTarget(
  host: string,
  port: number,
  allowlist: Allowlist,
  resolver: Resolver = systemResolver,
): Promise<TargetDecision> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return refuse("invalid target port");
  const literal = typeof host === "string" ? parseIp(host) : null;
  if (literal) {
    const why = allowlist.check(literal, port);
    return why ? refuse(why) : { ok: true, address: formatIp(literal), family: literal.family };
  }
  if (!isValidHostName(host)) return refuse("invalid target host");

  let found: { address: string; family: 4 | 6 }[];
  try {
    found = await resolver(host);
  } catch {
    return refuse("cannot resolve target host");
  }
  if (!Array.isArray(found) || found.length === 0) return refuse("cannot resolve target host");

  const ips: Ip[] = [];
  for (const entry of found) {
    const ip = typeof entry?.address === "string" ? parseIp(entry.address) : null;
    if (!ip) return refuse("target host name resolves to an unusable address");
    const forbidden = forbiddenReason(ip);
    if (forbidden) return refuse(`target host name resolves to a forbidden address (${forbidden})`);
    const why = allowlist.check(ip, port, host);
    if (why) return refuse(why);
    ips.push(ip);
  }
  const first = ips[0]!;
  return { ok: true, address: formatIp(first), family: first.family };
}
