/**
 * Decides a websocket upgrade: ordered checks, each refusal an HTTP status and a short reason
 * (never echoing the ticket). On success, says where to connect and which subprotocol to answer.
 */
import type { ServerConfig } from "./config.ts";
import { ticketFromPath } from "../ticket/path.ts";
import { verifyTicket } from "../ticket/verify.ts";
import { resolveTarget, type Resolver } from "../policy/resolve.ts";
import { parseIp } from "../policy/address.ts";
import { ticketHash } from "../ticket/hash.ts";

export interface UpgradeTarget {
  host: string;
  port: number;
  address: string;
  sslTarget: boolean;
  /** KubeVirt: the target is a websocket at this path (with this bearer token); null = TCP. */
  path: string | null;
  token: string | null;
  /** The signed ticket asks for a read-only console. */
  viewOnly: boolean;
}

export type UpgradeDecision =
  | { ok: true; protocol: string | null; target: UpgradeTarget; ticketHash: string; ticketId: string | null; validTo: Date | null }
  | { ok: false; status: 400 | 401 | 403; code: RefusalCode; reason: string; ticketHash?: string; detail?: string };

/**
 * What a client is told for every target refusal. The detail (what a name resolved to, whether
 * it resolved, which rule failed) goes to the log only: with unsigned targets, anyone could
 * otherwise use the proxy to probe internal name resolution.
 */
export const TARGET_REFUSED = "target not allowed";

/** Why an upgrade was refused, as a fixed word (a metric label; the reason text may vary). */
export type RefusalCode = "origin" | "bad_request" | "no_ticket" | "bad_ticket" | "ticket_time" | "target";

/** The ticket cookie the console page sets: `__Host-` = Secure, Path=/, no Domain, so no sibling host or port can plant it. */
export const TICKET_COOKIE = "__Host-novnc-ticket";
/** The name older console pages used; still read. */
export const LEGACY_TICKET_COOKIE = "novnc-ticket";
export const TARGET_COOKIE = "novnc-target";

/** The request-target's path as sent (Bun's `req.url` is absolute: strip scheme and authority). */
export function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("://");
  const slash = afterScheme < 0 ? url.indexOf("/") : url.indexOf("/", afterScheme + 3);
  if (slash < 0) return "/";
  const q = url.indexOf("?", slash);
  return q < 0 ? url.slice(slash) : url.slice(slash, q);
}

/** Values of every cookie with one of `names`, in header order. Not decoded: tickets are raw base64. */
export function cookieValues(header: string | null, names: readonly string[]): string[] {
  const out: string[] = [];
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (names.includes(part.slice(0, eq).trim())) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** Value of one cookie (the first of that name), or null. */
export function cookieValue(header: string | null, name: string): string | null {
  return cookieValues(header, [name])[0] || null;
}

/** The answered subprotocol: `binary` when offered, none when none offered, else refuse. */
export function chooseProtocol(header: string | null): { ok: true; protocol: string | null } | { ok: false; reason: string } {
  if (!header || !header.trim()) return { ok: true, protocol: null };
  const offered = header.split(",").map((p) => p.trim());
  if (offered.includes("binary")) return { ok: true, protocol: "binary" };
  if (offered.includes("base64")) return { ok: false, reason: "base64 subprotocol not supported, use binary" };
  return { ok: false, reason: "unsupported websocket subprotocol" };
}

/** Parses the seed's unsigned `HOST:PORT` (IPv6 in brackets). */
function parseHostPort(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

export async function decideUpgrade(
  req: Request,
  config: ServerConfig,
  checkOrigin: (origin: string | null, host: string | null) => string | null,
  now: Date,
  resolver?: Resolver,
): Promise<UpgradeDecision> {
  const originProblem = checkOrigin(req.headers.get("origin"), req.headers.get("host"));
  if (originProblem) return { ok: false, status: 403, code: "origin", reason: originProblem };

  const proto = chooseProtocol(req.headers.get("sec-websocket-protocol"));
  if (!proto.ok) return { ok: false, status: 400, code: "bad_request", reason: proto.reason };

  const path = rawPathOf(req.url);
  const cookies = req.headers.get("cookie");
  // Several ticket cookies mean one was planted (a sibling subdomain or another port): which
  // one a browser sends first is not ours to guess.
  const ticketCookies = cookieValues(cookies, [TICKET_COOKIE, LEGACY_TICKET_COOKIE]);
  if (ticketCookies.length > 1) return { ok: false, status: 400, code: "bad_request", reason: "more than one ticket cookie" };
  let raw: string | null = null;
  if (path.length > 1) {
    raw = ticketFromPath(path);
    if (!raw) return { ok: false, status: 403, code: "bad_ticket", reason: "malformed ticket" };
  } else {
    raw = ticketCookies[0] || null;
  }

  let host: string;
  let port: number;
  let sslTarget = false;
  let wsPath: string | null = null;
  let token: string | null = null;
  let viewOnly = false;
  let hash: string;
  let ticketId: string | null = null;
  let validTo: Date | null = null;
  if (raw) {
    hash = ticketHash(raw);
    if (!config.engineKey) return { ok: false, status: 403, code: "bad_ticket", reason: "signed tickets not configured", ticketHash: hash };
    const verdict = verifyTicket(raw, { engineKey: config.engineKey, now, skewSeconds: config.clockSkewSeconds });
    if (!verdict.ok) {
      const code = verdict.outsideWindow ? "ticket_time" : "bad_ticket";
      return { ok: false, status: 403, code, reason: verdict.reason, ticketHash: hash };
    }
    ({ host, port, sslTarget, path: wsPath, token, viewOnly } = verdict.ticket.target);
    ticketId = verdict.ticket.signature;
    validTo = verdict.ticket.validTo;
  } else {
    const plain = config.allowUnsigned ? cookieValue(cookies, TARGET_COOKIE) : null;
    if (!plain) return { ok: false, status: 401, code: "no_ticket", reason: "missing ticket" };
    const hp = parseHostPort(decodeURIComponentSafe(plain));
    hash = ticketHash(plain);
    if (!hp) return { ok: false, status: 403, code: "bad_ticket", reason: "malformed target cookie", ticketHash: hash };
    ({ host, port } = hp);
  }

  const resolved = await resolveTarget(host, port, config.allowlist, resolver);
  if (!resolved.ok) return { ok: false, status: 403, code: "target", reason: TARGET_REFUSED, detail: resolved.reason, ticketHash: hash };
  return {
    ok: true,
    protocol: proto.protocol,
    target: { host, port, address: resolved.address, sslTarget, path: wsPath, token, viewOnly },
    ticketHash: hash,
    ticketId,
    validTo,
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** host:port for logs, IPv6 in brackets. */
export function targetLabel(host: string, port: number): string {
  return parseIp(host)?.family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
