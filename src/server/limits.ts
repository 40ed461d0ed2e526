/**
 * Admission caps and per-session time limits, as plain bookkeeping (no sockets, injected clock):
 * overall / per client IP / per ticket session counts, single-use tickets, idle and absolute
 * session limits. The server asks `admit` before upgrading and `sweep` once a second.
 */
import { formatIp, parseIp } from "../policy/address.ts";

export interface Limits {
  /** Open sessions at most, overall (0 = no cap). */
  maxSessions: number;
  /** Open sessions at most per client address. */
  maxSessionsPerIp: number;
  /** Open sessions at most per ticket (noVNC reconnects re-use one). */
  maxSessionsPerTicket: number;
  /** A ticket opens one session ever (remembered while verification would accept it). */
  singleUse: boolean;
  /** IPv6 clients count against the per-IP cap by this prefix (clients rotate addresses within one). */
  ipv6Prefix: number;
  /** Close a session after this many seconds with no byte either way (0 = never). */
  idleTimeoutSeconds: number;
  /** Close a session this many seconds after it opened (0 = never). */
  sessionMaxSeconds: number;
}

export type Refusal = { status: 429 | 503 | 403; reason: string; code: "cap_total" | "cap_ip" | "cap_ticket" | "ticket_reused" | "store_down" };

/**
 * The cap refusals, one per code: the local registry and the fleet store (whose admission script
 * answers with the code) give the same status and reason.
 */
export const CAP_REFUSALS = {
  cap_total: { status: 503, reason: "server at its session limit", code: "cap_total" },
  cap_ip: { status: 429, reason: "too many sessions from this address", code: "cap_ip" },
  cap_ticket: { status: 429, reason: "too many sessions for this ticket", code: "cap_ticket" },
  ticket_reused: { status: 403, reason: "ticket already used", code: "ticket_reused" },
} as const satisfies Record<string, Refusal>;

/**
 * Until when (ms) a used single-use ticket must be remembered: for exactly as long as
 * verification would still accept it (its validTo plus the tolerated clock skew), so a replay
 * inside the skew window is refused. Shared by every single-use store.
 */
export function singleUseExpiry(validToMs: number, clockSkewSeconds: number): number {
  return validToMs + clockSkewSeconds * 1000;
}

/**
 * The key a client counts under for the per-IP cap: an IPv4 address as it is, an IPv6 address
 * reduced to its /prefix network (one subscriber usually owns a whole /64 and can rotate
 * through it). Anything that is not an address is its own key.
 */
export function perIpKey(client: string, ipv6Prefix: number): string {
  const ip = parseIp(client);
  if (!ip || ip.family === 4 || ipv6Prefix >= 128) return client;
  const bytes = ip.bytes.slice();
  for (let bit = ipv6Prefix; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return `${formatIp({ family: 6, bytes })}/${ipv6Prefix}`;
}

/** What a session must tell the registry; the byte counters are the relay's own. */
export interface TrackedSession {
  client: string;
  ticketId: string | null;
  openedAt: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * When a session's byte count last changed, as seen by the sweep. Idleness is derived from the
 * counters the relay keeps anyway, so the relay's hot path takes no timestamp per chunk; the
 * sweep's one-second tick can only make an idle close later, never earlier.
 */
interface Activity {
  bytes: number;
  since: number;
}

/** A session a time limit ends: the close reason and the outcome for metrics. */
export interface Expired {
  session: TrackedSession;
  reason: string;
  outcome: "idle_timeout" | "time_limit";
}

export class SessionRegistry {
  /** Open sessions, with their last observed activity. */
  readonly open = new Map<TrackedSession, Activity>();
  private perIp = new Map<string, number>();
  /** The per-IP key each open session was counted under (the prefix may change on reload). */
  private ipKeys = new Map<TrackedSession, string>();
  private perTicket = new Map<string, number>();
  /** ticket id -> when it stops mattering (its validTo, ms). */
  private used = new Map<string, number>();

  constructor(public limits: Limits) {}

  /** Checks the caps for a would-be session; does not reserve anything. */
  admit(client: string, ticketId: string | null, now: number): Refusal | null {
    const l = this.limits;
    if (l.maxSessions > 0 && this.open.size >= l.maxSessions) {
      return CAP_REFUSALS.cap_total;
    }
    if (l.maxSessionsPerIp > 0 && (this.perIp.get(perIpKey(client, l.ipv6Prefix)) ?? 0) >= l.maxSessionsPerIp) {
      return CAP_REFUSALS.cap_ip;
    }
    if (ticketId !== null) {
      const usedUntil = this.used.get(ticketId);
      if (l.singleUse && usedUntil !== undefined && usedUntil >= now) {
        return CAP_REFUSALS.ticket_reused;
      }
      if (l.maxSessionsPerTicket > 0 && (this.perTicket.get(ticketId) ?? 0) >= l.maxSessionsPerTicket) {
        return CAP_REFUSALS.cap_ticket;
      }
    }
    return null;
  }

  /**
   * Records an admitted session. `usedUntil` (ms, see `singleUseExpiry`) is how long a
   * single-use id is kept.
   */
  add(s: TrackedSession, usedUntil: number | null): void {
    this.open.set(s, { bytes: s.bytesUp + s.bytesDown, since: s.openedAt });
    const ipKey = perIpKey(s.client, this.limits.ipv6Prefix);
    this.ipKeys.set(s, ipKey);
    this.perIp.set(ipKey, (this.perIp.get(ipKey) ?? 0) + 1);
    if (s.ticketId !== null) {
      this.perTicket.set(s.ticketId, (this.perTicket.get(s.ticketId) ?? 0) + 1);
      if (this.limits.singleUse) this.used.set(s.ticketId, usedUntil ?? s.openedAt);
    }
  }

  remove(s: TrackedSession): void {
    if (!this.open.delete(s)) return;
    decrement(this.perIp, this.ipKeys.get(s)!);
    this.ipKeys.delete(s);
    if (s.ticketId !== null) decrement(this.perTicket, s.ticketId);
  }

  /** Sessions past a time limit, with the close reason; also forgets expired single-use ids. */
  sweep(now: number): Expired[] {
    for (const [id, until] of this.used) if (until < now) this.used.delete(id);
    const { idleTimeoutSeconds: idle, sessionMaxSeconds: max } = this.limits;
    const out: Expired[] = [];
    if (idle <= 0 && max <= 0) return out;
    for (const [s, activity] of this.open) {
      const bytes = s.bytesUp + s.bytesDown;
      if (bytes !== activity.bytes) {
        activity.bytes = bytes;
        activity.since = now;
      }
      if (max > 0 && now - s.openedAt >= max * 1000) out.push({ session: s, reason: "Session time limit reached", outcome: "time_limit" });
      else if (idle > 0 && now - activity.since >= idle * 1000) out.push({ session: s, reason: "Idle timeout", outcome: "idle_timeout" });
    }
    return out;
  }

  /** Forgets a single-use id recorded by `add` for a session the fleet store then refused. */
  forgetUse(ticketId: string): void {
    this.used.delete(ticketId);
  }

  /** Single-use ids still remembered, with when each stops mattering (to refill a fleet store). */
  rememberedUses(): IterableIterator<[string, number]> {
    return this.used.entries();
  }

  /** Single-use ids currently remembered (for tests and metrics). */
  get rememberedTickets(): number {
    return this.used.size;
  }
}

function decrement(m: Map<string, number>, key: string): void {
  const n = (m.get(key) ?? 0) - 1;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}
