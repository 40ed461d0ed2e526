/**
 * How the console learns what to connect to: query parameters, the engine's `postMessage`, and
 * the seed's cookie. Pure functions (no DOM) so they are unit-tested; console.ts wires them up.
 *
 * Messages the page accepts, only from an engine origin (the `novnc-engine-origins` meta tag
 * that the proxy fills in from `serve --engine-origin`):
 *
 *   { connectionTicket: TICKET, password: PW }
 *       oVirt's own shape (admin portal, VM portal). Connects to wss://host:port/TICKET with
 *       subprotocol "binary"; PW is the VNC password.
 *   { cookieTicket: TICKET, password: PW }
 *       The seed's cookie hand-off. Sets the cookie `__Host-novnc-ticket=TICKET; Secure;
 *       SameSite=Strict; Path=/; Max-Age=<seconds left of the ticket>` (no Domain: the
 *       `__Host-` prefix makes the browser refuse one planted by a sibling host) and connects
 *       to wss://host:port/ with an empty path; the proxy reads the ticket from the cookie,
 *       and the page clears it once the websocket is open.
 *
 * On load the page posts { type: "novnc-proxy-ready" } to its opener (or parent frame), with
 * each engine origin as targetOrigin, so an engine can wait for it before sending.
 */

/** The engine-to-page ready signal. */
export const READY_MESSAGE = { type: "novnc-proxy-ready" } as const;

/** Name of the meta tag carrying the engine origins (space-separated). */
export const ENGINE_ORIGINS_META = "novnc-engine-origins";

/** Cookie the proxy reads on an upgrade with an empty path. */
export const TICKET_COOKIE = "__Host-novnc-ticket";
/** The name older pages used; cleared so the proxy never sees two ticket cookies (it refuses that). */
export const LEGACY_TICKET_COOKIE = "novnc-ticket";

export type ScaleMode = "fit" | "remote" | "none";

export interface PageParams {
  host: string;
  port: string;
  title: string | null;
  viewOnly: boolean;
  scale: ScaleMode;
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on", "t", "y"]);

/** Maps oVirt's / noVNC's spellings of the scale parameter onto the three modes. */
function parseScale(raw: string | null): ScaleMode {
  switch ((raw ?? "").toLowerCase()) {
    case "remote":
    case "resize":
      return "remote";
    case "none":
    case "off":
    case "false":
    case "0":
    case "1:1":
      return "none";
    default:
      return "fit";
  }
}

/**
 * Reads the query parameters an engine puts on the console URL. `host` and `port` default to the
 * page's own location (the proxy serving the page is the proxy to connect to).
 */
export function readParams(search: string, location: { hostname: string; port: string }): PageParams {
  const q = new URLSearchParams(search);
  const host = q.get("host") || location.hostname;
  const port = q.get("port") || location.port || "443";
  return {
    host,
    port,
    title: q.get("title"),
    viewOnly: TRUE_WORDS.has((q.get("view_only") ?? q.get("viewOnly") ?? "").toLowerCase()),
    scale: parseScale(q.get("scale")),
  };
}

/** An origin as browsers serialise it (`https://a.example:443` -> `https://a.example`), or null. */
export function normaliseOrigin(text: string): string | null {
  if (!/^https?:\/\/[^/\s?#@]+$/i.test(text)) return null;
  try {
    const o = new URL(text).origin;
    return o === "null" ? null : o;
  } catch {
    return null;
  }
}

/** Engine origins from the meta tag content: origins separated by whitespace, normalised. */
export function parseEngineOrigins(content: string | null | undefined): string[] {
  const out: string[] = [];
  for (const word of (content ?? "").split(/\s+/)) {
    const o = word ? normaliseOrigin(word) : null;
    if (o && !out.includes(o)) out.push(o);
  }
  return out;
}

export type Handoff =
  | { kind: "path"; ticket: string; password: string | null }
  | { kind: "cookie"; ticket: string; password: string | null };

/** A ticket as it may travel: printable, no whitespace, bounded (the proxy caps at 16 KiB). */
function isTicketShape(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= 16384 && /^[\x21-\x7e]+$/.test(v);
}

/** Validates a message's data; null for anything that is not one of the accepted shapes. */
export function parseHandoff(data: unknown): Handoff | null {
  if (typeof data !== "object" || data === null) return null;
  const d = data as Record<string, unknown>;
  const password = typeof d.password === "string" ? d.password : null;
  if (isTicketShape(d.connectionTicket)) return { kind: "path", ticket: d.connectionTicket, password };
  if (isTicketShape(d.cookieTicket)) return { kind: "cookie", ticket: d.cookieTicket, password };
  return null;
}

/** Whether a message origin is one of the (normalised) engine origins: exact string match. */
export function isEngineOrigin(origin: string, engineOrigins: readonly string[]): boolean {
  return origin !== "null" && engineOrigins.includes(origin);
}

/**
 * The end of a ticket's validity, read (not verified: the proxy does that) from its base64 JSON
 * `validTo` (yyyyMMddHHmmss, UTC). Null when the ticket does not decode that way.
 */
export function ticketValidTo(ticket: string): Date | null {
  let json: unknown;
  try {
    json = JSON.parse(atob(ticket));
  } catch {
    return null;
  }
  if (typeof json !== "object" || json === null) return null;
  const v = (json as Record<string, unknown>).validTo;
  if (typeof v !== "string") return null;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(v);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? null : new Date(t);
}

/** Whole seconds of validity left at `now` (0 when expired; `fallback` when unknown). */
export function secondsLeft(ticket: string, now: Date, fallback = 120): number {
  const to = ticketValidTo(ticket);
  if (!to) return fallback;
  return Math.max(0, Math.floor((to.getTime() - now.getTime()) / 1000));
}

/** The `document.cookie` assignment for the cookie hand-off. */
export function ticketCookie(ticket: string, maxAgeSeconds: number): string {
  // Standard base64 is cookie-safe except nothing: '+', '/', '=' are allowed in a cookie value.
  return `${TICKET_COOKIE}=${ticket}; Secure; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

/** Expires the ticket cookie (once the websocket is open, or when a new hand-off replaces it). */
export function clearTicketCookie(): string {
  return `${TICKET_COOKIE}=; Secure; SameSite=Strict; Path=/; Max-Age=0`;
}

/** Expires a ticket cookie an older page left under the old name (only one set by this host can be cleared). */
export function clearLegacyTicketCookie(): string {
  return `${LEGACY_TICKET_COOKIE}=; Secure; SameSite=Strict; Path=/; Max-Age=0`;
}

/** The websocket URL for a hand-off: the ticket in the path, or an empty path for the cookie. */
export function websocketUrl(params: Pick<PageParams, "host" | "port">, handoff: Pick<Handoff, "kind" | "ticket">): string {
  const host = params.host.includes(":") && !params.host.startsWith("[") ? `[${params.host}]` : params.host;
  const path = handoff.kind === "path" ? handoff.ticket : "";
  return `wss://${host}:${params.port}/${path}`;
}
