/**
 * The client's address for logs and per-IP caps. `X-Forwarded-For` is believed only when the
 * direct peer is a configured trusted proxy; then the right-most address that is not itself a
 * trusted proxy is the client (addresses further left are the client's own claims). Pure.
 */
import { formatIp } from "../policy/address.ts";
import { parsePeerAddress } from "../policy/cidr.ts";

/** Canonical text of a socket's peer address (IPv4-mapped IPv6 shown as IPv4). */
export function canonicalPeer(peer: string): string {
  const ip = parsePeerAddress(peer);
  return ip ? formatIp(ip) : peer;
}

export function clientAddress(peer: string, forwardedFor: string | null, isTrusted: (addr: string) => boolean): string {
  const direct = canonicalPeer(peer);
  if (!forwardedFor || !isTrusted(direct)) return direct;
  const hops = forwardedFor.split(",").map((h) => h.trim());
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = parsePeerAddress(hops[i]!);
    if (!ip) break; // a malformed hop: stop at the last address we could vouch for
    client = formatIp(ip);
    if (!isTrusted(client)) break;
  }
  return client;
}
