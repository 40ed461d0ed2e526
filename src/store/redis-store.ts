/**
 * The fleet store on Redis (Bun.RedisClient): single use, caps and the session list shared by
 * every instance with the same store and prefix.
 *
 * Reconnection is ours, not the client's: Bun's client stops after `maxRetries` and a failed
 * handshake leaves it failed for good (oven-sh/bun#41829), and a frozen server (SIGSTOP) just
 * never answers. So every command has a deadline; a miss or a closed connection marks the store
 * down, drops that client, and a one-second tick dials a fresh one. While down, single-use
 * tickets are refused (never admitted twice) and everything else is admitted under this
 * instance's own caps; live sessions never depend on the store. Back up, the instance
 * re-registers its live sessions and remembered single-use tickets (a store restarted empty is
 * refilled) and keeps refreshing their leases.
 */
import type { RedisClient } from "bun";
import { tagged } from "../log.ts";
import { CAP_REFUSALS, perIpKey, type Refusal, type SessionRegistry } from "../server/limits.ts";
import type { SessionStore, StoredSession } from "./session-store.ts";
import { dialRedis, withDeadline } from "./dial.ts";
import { ADMIT_SCRIPT, LEASE_MS, REFRESH_MS, REFRESH_SCRIPT, RELEASE_SCRIPT, storeKeys } from "./keys.ts";

const log = tagged("store");

export interface RedisStoreOptions {
  /** Connection URL, password included. */
  url: string;
  /** The URL without password, for log lines. */
  shown: string;
  prefix: string;
  instanceId: string;
  /** Deadline of one command (and of a connect) before the store counts as down. */
  timeoutMs?: number;
}

export interface RedisStoreHooks {
  /** An operator asked to close this session (`sessions kill`); returns false if it is not here. */
  kill(id: string): boolean;
  /** Time of each store round trip on the admission path, seconds (metrics). */
  observe?(seconds: number): void;
}

export const STORE_DOWN: Refusal = { status: 503, reason: "session store unavailable", code: "store_down" };

class StoreUnavailable extends Error {}

export class RedisStore implements SessionStore {
  private client: RedisClient | null = null;
  private up = false;
  private downSince = 0;
  /**
   * Until then (ms) single-use tickets still get 503 after the store came back: one restarted
   * empty knows no used ticket until every instance has re-registered those it remembers, and
   * the others reconnect on their own tick, not at the same moment as this one.
   */
  private refillGraceUntil = 0;
  /**
   * Another instance reconnects at its next tick, or the one after when a connect attempt made
   * before the store was back was still waiting for its deadline, and refills in that tick: two
   * ticks (1 s each), two command deadlines (that attempt and the refill).
   */
  private readonly refillGraceMs: number;
  private lastRefresh = 0;
  private ticking = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly keys;
  private readonly timeoutMs: number;
  /**
   * Sessions this instance holds, for lease refreshes (the registry keys them by object), with the
   * per-address key each was admitted under (a reload may change how addresses are grouped).
   */
  private readonly live = new Map<StoredSession, string>();
  private readonly pending = new Set<Promise<unknown>>();
  /**
   * Sessions that ended while the store was down, deleted from it if it is back within their
   * lease (with their single-use claim when they never opened).
   */
  private readonly ended = new Map<StoredSession, { ip: string; at: number; unclaim: boolean }>();
  /** Script text -> SHA-1 as loaded on the current connection. */
  private readonly shas = new Map<string, string>();

  constructor(
    readonly registry: SessionRegistry,
    private readonly opts: RedisStoreOptions,
    private readonly hooks: RedisStoreHooks,
  ) {
    this.keys = storeKeys(opts.prefix);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.refillGraceMs = 2 * 1000 + 2 * this.timeoutMs;
  }

  /** Dials once (so start-up says up or down), then ticks every second. */
  async start(): Promise<void> {
    await this.tick();
    if (!this.up) {
      this.downSince = Date.now(); // when it comes, the others may have state to re-register first
      const orPassword = new URL(this.opts.url).password ? " (or the password was refused)" : "";
      log.warn(`store ${this.opts.shown} unreachable${orPassword}; single-use tickets get 503 until it is back`);
    }
    this.timer = setInterval(() => void this.tick(), 1000);
  }

  status(): "up" | "down" {
    return this.up ? "up" : "down";
  }

  async admit(s: StoredSession, usedUntil: number | null, now: number): Promise<Refusal | null> {
    const limits = this.registry.limits;
    const local = this.registry.admit(s.client, s.ticketId, now);
    if (local) return local;
    const singleUse = limits.singleUse && s.ticketId !== null;
    const ip = this.ipKey(s.client);
    if (singleUse && now < this.refillGraceUntil) return STORE_DOWN;
    if (!this.up) {
      if (singleUse) return STORE_DOWN;
      this.registry.add(s, usedUntil);
      this.live.set(s, ip);
      return null;
    }
    // Reserve locally first: another admission on this instance sees the slot taken meanwhile.
    this.registry.add(s, usedUntil);
    const k = this.keys;
    const t0 = performance.now();
    let answer: string;
    try {
      answer = String(
        await this.script(ADMIT_SCRIPT, [
          "5",
          k.sessions, k.ip(ip), s.ticketId ? k.ticket(s.ticketId) : k.sessions, s.ticketId ? k.used(s.ticketId) : k.sessions, k.session(s.id),
          s.id, String(limits.maxSessions), String(limits.maxSessionsPerIp), String(limits.maxSessionsPerTicket), singleUse ? "1" : "0",
          String(Math.max(1000, (usedUntil ?? now) - now)), String(LEASE_MS), this.opts.instanceId, s.client, s.targetLabel, s.ticketHash,
          s.ticketId ? "1" : "0",
        ]),
      );
    } catch {
      // Down (or timed out: the claim may or may not have landed, so a single-use ticket is refused).
      if (singleUse) {
        this.unreserve(s);
        return STORE_DOWN;
      }
      this.live.set(s, ip);
      return null;
    }
    this.hooks.observe?.((performance.now() - t0) / 1000);
    if (answer === "ok") {
      this.live.set(s, ip);
      return null;
    }
    this.unreserve(s, answer === "ticket_reused");
    return Object.hasOwn(CAP_REFUSALS, answer) ? CAP_REFUSALS[answer as keyof typeof CAP_REFUSALS] : STORE_DOWN;
  }

  /** The key a client counts under for the per-address cap: the same one the local registry uses (IPv6 by prefix). */
  private ipKey(client: string): string {
    return perIpKey(client, this.registry.limits.ipv6Prefix);
  }

  private unreserve(s: StoredSession, keepUse = false): void {
    this.registry.remove(s);
    if (s.ticketId !== null && !keepUse) this.registry.forgetUse(s.ticketId);
  }

  remove(s: StoredSession): void {
    this.registry.remove(s);
    this.release(s, false);
  }

  abandon(s: StoredSession): void {
    this.unreserve(s);
    this.release(s, this.registry.limits.singleUse && s.ticketId !== null);
  }

  private release(s: StoredSession, unclaim: boolean): void {
    const ip = this.live.get(s);
    if (ip === undefined) return;
    this.live.delete(s);
    if (!this.up) {
      // Its lease would run out by itself; a store that was only unreachable hears it sooner.
      this.ended.set(s, { ip, at: Date.now(), unclaim });
      return;
    }
    this.unregister(s, ip, unclaim);
  }

  /**
   * Deletes an ended session's entries, and its claim if `unclaim`. When the store turns out to
   * be down (the release itself timed out: it froze just now), it is retried once the store is
   * back, like a session that ended while the store was known to be down; its lease ends it anyway.
   */
  private unregister(s: StoredSession, ip: string, unclaim: boolean, at = Date.now()): void {
    const k = this.keys;
    const keys = [k.sessions, k.ip(ip), s.ticketId ? k.ticket(s.ticketId) : "", k.session(s.id), ...(unclaim && s.ticketId ? [k.used(s.ticketId)] : [])];
    const p = this.script(RELEASE_SCRIPT, [String(keys.length), ...keys, s.id, this.opts.instanceId])
      .catch(() => {
        if (!this.up && this.timer !== undefined) this.ended.set(s, { ip, at, unclaim });
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([Promise.allSettled([...this.pending]), Bun.sleep(this.timeoutMs)]);
    this.client?.close();
    this.client = null;
    this.up = false;
  }

  /**
   * Runs a Lua script by its SHA-1 (loaded once per connection, so the hot path does not resend
   * its text); EVAL when Redis does not know it (flushed scripts, or a server that came back).
   */
  private async script(text: string, args: string[]): Promise<unknown> {
    const sha = this.shas.get(text);
    if (sha) {
      try {
        return await this.command("EVALSHA", [sha, ...args]);
      } catch (err) {
        if (!/NOSCRIPT/.test(String(err))) throw err;
        this.shas.delete(text);
      }
    }
    return this.command("EVAL", [text, ...args]);
  }

  /** One command with a deadline; any failure marks the store down. */
  private async command(cmd: string, args: string[]): Promise<unknown> {
    const c = this.client;
    if (!c || !this.up) throw new StoreUnavailable();
    try {
      return await withDeadline(c.send(cmd, args), this.timeoutMs, () => new StoreUnavailable("timed out"));
    } catch (err) {
      // An error reply is a refused command, not an outage, unless Redis says it cannot serve.
      const code = (err as { code?: string }).code;
      if (code !== "ERR_REDIS_SERVER_ERROR" || /LOADING|BUSY|MASTERDOWN/.test(String(err))) {
        this.markDown(c, err instanceof StoreUnavailable ? "no answer within " + this.timeoutMs + " ms" : (code ?? "error"));
      }
      throw err;
    }
  }

  private markDown(c: RedisClient, why: string): void {
    if (this.client !== c) return;
    this.client = null;
    c.onclose = null;
    c.close();
    if (this.up) {
      this.up = false;
      this.downSince = Date.now();
      log.warn(`store ${this.opts.shown} down (${why}): single-use tickets get 503, others are admitted under this instance's caps`);
    }
  }

  private async connect(): Promise<void> {
    let c: RedisClient;
    try {
      c = await dialRedis(this.opts.url, this.timeoutMs);
    } catch {
      return;
    }
    this.client = c;
    c.onclose = () => this.markDown(c, "connection closed");
    if (this.downSince) this.refillGraceUntil = Date.now() + this.refillGraceMs;
    this.up = true;
    this.shas.clear();
    try {
      for (const text of [ADMIT_SCRIPT, REFRESH_SCRIPT, RELEASE_SCRIPT]) this.shas.set(text, String(await this.command("SCRIPT", ["LOAD", text])));
    } catch {
      // Down again already (logged by markDown), or scripting refused: EVAL still works.
      if (!this.up) return;
    }
    if (this.downSince) {
      log.info(
        `store ${this.opts.shown} up again after ${Math.round((Date.now() - this.downSince) / 1000)}s; re-registering ${this.live.size} session(s); single-use tickets wait ${this.refillGraceMs / 1000}s for the other instances to do the same`,
      );
    } else log.info(`store ${this.opts.shown} up, instance ${this.opts.instanceId}`);
    this.lastRefresh = 0; // refill at once: the store may have come back empty
    for (const [s, { ip, at, unclaim }] of this.ended) this.unregister(s, ip, unclaim, at);
    this.ended.clear();
  }

  /** Every second: reconnect when down; else take kill requests, and refresh leases when due. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (!this.up) await this.connect();
      if (!this.up) {
        for (const [s, { at }] of this.ended) if (Date.now() - at > LEASE_MS) this.ended.delete(s);
        return;
      }
      await this.takeKills();
      if (Date.now() - this.lastRefresh >= REFRESH_MS) {
        this.lastRefresh = Date.now();
        await this.refresh();
      }
    } catch {
      // markDown already logged it; the next tick reconnects.
    } finally {
      this.ticking = false;
    }
  }

  private async takeKills(): Promise<void> {
    const ids = (await this.command("LPOP", [this.keys.kill(this.opts.instanceId), "100"])) as string[] | null;
    for (const id of ids ?? []) this.hooks.kill(id);
  }

  /** Renews every live session's lease (re-creating it if missing) and every remembered single-use claim. */
  private async refresh(): Promise<void> {
    const k = this.keys;
    const now = Date.now();
    const cmds: Promise<unknown>[] = [];
    for (const [s, ip] of this.live) {
      cmds.push(
        this.script(REFRESH_SCRIPT, [
          "4",
          k.sessions, k.ip(ip), s.ticketId ? k.ticket(s.ticketId) : "", k.session(s.id),
          s.id, String(LEASE_MS), this.opts.instanceId, s.client, s.targetLabel, s.ticketHash,
          String(s.bytesUp), String(s.bytesDown), String(Math.max(0, now - s.openedAt)),
        ]),
      );
    }
    if (this.registry.limits.singleUse) {
      for (const [ticketId, until] of this.registry.rememberedUses()) {
        if (until > now) cmds.push(this.command("SET", [k.used(ticketId), this.opts.instanceId, "NX", "PX", String(until - now)]));
      }
    }
    await Promise.all(cmds);
  }
}
