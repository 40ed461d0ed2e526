/**
 * Who else listens on our port. Every listener sets SO_REUSEPORT, because a reload opens a
 * listener with the new certificate next to the old one (Bun cannot swap a listener's TLS
 * settings), and a connection must not be refused in between. The price is that any other
 * process of the same user that also sets SO_REUSEPORT could join the port and take a share of
 * new connections, e.g. a stale second instance with an older certificate or looser allowlist.
 * So start-up and every reload look at the kernel's socket table (/proc/net/tcp, tcp6) and
 * refuse to serve next to a listening socket this process does not own.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { formatIp, type Ip } from "../policy/address.ts";

/** State 0A in /proc/net/tcp: LISTEN. */
const TCP_LISTEN = "0A";

export interface ListeningSocket {
  address: string;
  family: 4 | 6;
  port: number;
  inode: number;
}

/** The kernel's hex address: IPv4 as one host-order (little-endian) word, IPv6 as four. */
function parseHexAddress(hex: string): Ip | null {
  if (hex.length !== 8 && hex.length !== 32) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let w = 0; w < hex.length / 8; w++) {
    for (let b = 0; b < 4; b++) bytes[w * 4 + b] = parseInt(hex.slice(w * 8 + (3 - b) * 2, w * 8 + (3 - b) * 2 + 2), 16);
  }
  return { family: hex.length === 8 ? 4 : 6, bytes };
}

/** LISTEN sockets in the text of /proc/net/tcp or /proc/net/tcp6. Pure. */
export function parseListeningSockets(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = f[1]!.split(":");
    const ip = addrHex ? parseHexAddress(addrHex) : null;
    if (!ip || !portHex) continue;
    out.push({ address: formatIp(ip), family: ip.family, port: parseInt(portHex, 16), inode: Number(f[9]) });
  }
  return out;
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

/** Whether a connection to `ours` could reach a socket bound to `theirs` (same address, or a wildcard either way). */
export function addressesOverlap(ours: string, theirs: string): boolean {
  if (ours === theirs || WILDCARDS.has(ours) || WILDCARDS.has(theirs)) return true;
  return theirs === `::ffff:${ours}` || ours === `::ffff:${theirs}`;
}

/** The sockets this process holds open: inode -> file descriptor. */
function ownSocketInodes(): Map<number, number> {
  const out = new Map<number, number>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) out.set(Number(m[1]), Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Listening sockets on `port` reachable at `hostname`, of any process. Empty without /proc. */
function listenersOn(hostname: string, port: number): ListeningSocket[] {
  const found: ListeningSocket[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const s of parseListeningSockets(text)) if (s.port === port && addressesOverlap(hostname, s.address)) found.push(s);
  }
  return found;
}

/**
 * Listening sockets on `port` (reachable at `hostname`) that belong to another process.
 * Empty where /proc is not available (not Linux): nothing to compare against.
 */
export function foreignListeners(hostname: string, port: number): ListeningSocket[] {
  const found = listenersOn(hostname, port);
  if (found.length === 0) return found;
  const own = ownSocketInodes();
  return found.filter((s) => !own.has(s.inode));
}

/** File descriptors of this process's own listening sockets on `port` (Bun does not expose them). */
export function ownListenerFds(hostname: string, port: number): number[] {
  const found = listenersOn(hostname, port);
  if (found.length === 0) return [];
  const own = ownSocketInodes();
  return found.flatMap((s) => (own.has(s.inode) ? [own.get(s.inode)!] : []));
}

/** An EADDRINUSE error, as a failed bind would throw it (lifecycle turns it into one clear line). */
export function addressInUse(hostname: string, port: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname}:${port}: address in use`), { code: "EADDRINUSE" });
}
