/**
 * Bounds the refusal lines one client can put in the log: a flood of bad upgrades would
 * otherwise fill it, and journald's rate limit would then drop real audit lines. Per client key
 * and per minute, the first `perWindow` refusals are logged (0 = all); the rest are counted and
 * reported as one summary line when the minute is over. Pure bookkeeping with an injected clock.
 */

/** The shared key of clients beyond `maxClients`. */
export const OTHER_CLIENTS = "other addresses";

export interface SuppressedSummary {
  client: string;
  suppressed: number;
}

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

export class RefusalLogLimiter {
  private windows = new Map<string, Window>();
  /** Summaries of windows that a new refusal replaced before a flush saw them end. */
  private pending: SuppressedSummary[] = [];

  /**
   * @param perWindow lines per client and window (0 = no limit)
   * @param maxClients clients tracked at once; beyond them (a flood from many addresses) refusals
   *   share one budget under OTHER_CLIENTS, so memory and log lines stay bounded
   */
  constructor(
    public perWindow = 10,
    readonly windowMs = 60_000,
    readonly maxClients = 10_000,
  ) {}

  /** Counts a refusal from `client`; true when it may be logged. */
  allow(client: string, now: number): boolean {
    if (this.perWindow === 0) return true;
    if (!this.windows.has(client) && this.windows.size >= this.maxClients) client = OTHER_CLIENTS;
    let w = this.windows.get(client);
    if (!w || now - w.start >= this.windowMs) {
      // An ended window still holding a count is reported by the next flush; its successor starts now.
      if (w && w.suppressed > 0) this.pending.push({ client, suppressed: w.suppressed });
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(client, w);
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      return true;
    }
    w.suppressed++;
    return false;
  }

  /** Summaries of the windows that ended by `now` with refusals left unlogged; forgets ended windows. */
  flush(now: number): SuppressedSummary[] {
    const out = this.pending;
    this.pending = [];
    for (const [client, w] of this.windows) {
      if (now - w.start < this.windowMs) continue;
      if (w.suppressed > 0) out.push({ client, suppressed: w.suppressed });
      this.windows.delete(client);
    }
    return out;
  }
}
