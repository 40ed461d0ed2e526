/**
 * Where admission state lives. Without `--store` it is this process's SessionRegistry
 * (src/server/limits.ts), exactly as before; with `--store` a Redis store (redis-store.ts) shares
 * single use, caps and the session list with the other instances and falls back to the local
 * registry while Redis is unreachable.
 */
import { SessionRegistry, type Refusal, type TrackedSession } from "../server/limits.ts";

/** What the fleet needs to know of a session besides the caps bookkeeping. */
export interface StoredSession extends TrackedSession {
  id: string;
  ticketHash: string;
  /** HOST:PORT as the ticket named it. */
  targetLabel: string;
}

export interface SessionStore {
  readonly registry: SessionRegistry;
  /**
   * Checks the caps for `s` and, when admitted, records it, as one step (no other admission can
   * take the same slot in between). `usedUntil` (ms): how long verification accepts the ticket,
   * i.e. how long a single-use ticket must stay remembered.
   */
  admit(s: StoredSession, usedUntil: number | null, now: number): Promise<Refusal | null>;
  /** The session ended; a single-use ticket stays used. */
  remove(s: StoredSession): void;
  /**
   * An admitted session whose websocket never opened (the upgrade failed, the client left): its
   * slots are freed and its single-use claim given back, since the ticket opened nothing.
   */
  abandon(s: StoredSession): void;
  /** "up" / "down" for a shared store; null when state is in-process only. */
  status(): "up" | "down" | null;
  stop(): Promise<void>;
}

/** Today's in-process state: this instance's caps and used tickets only. */
export class LocalStore implements SessionStore {
  constructor(readonly registry: SessionRegistry) {}

  async admit(s: StoredSession, usedUntil: number | null, now: number): Promise<Refusal | null> {
    const refusal = this.registry.admit(s.client, s.ticketId, now);
    if (!refusal) this.registry.add(s, usedUntil);
    return refusal;
  }

  remove(s: StoredSession): void {
    this.registry.remove(s);
  }

  abandon(s: StoredSession): void {
    this.registry.remove(s);
    if (s.ticketId !== null) this.registry.forgetUse(s.ticketId);
  }

  status(): null {
    return null;
  }

  async stop(): Promise<void> {}
}
