/**
 * Reconnect pacing. A dropped console retries quickly at first, then less often, and stops once
 * the ticket can no longer be valid (the proxy would refuse it anyway).
 */

export interface BackoffOptions {
  /** First delay, ms. */
  baseMs: number;
  /** Largest delay, ms. */
  maxMs: number;
  /** Give up after this many attempts. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 15000, maxAttempts: 8 };

/**
 * Delay before reconnect attempt `attempt` (1-based), or null to give up: when attempts are used
 * up, or when the wait would end after `validUntil` (ms since epoch; null = unknown, not bounded).
 */
export function nextDelay(
  attempt: number,
  now: number,
  validUntil: number | null,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): number | null {
  if (attempt < 1 || attempt > opts.maxAttempts) return null;
  const delay = Math.min(opts.maxMs, opts.baseMs * 2 ** (attempt - 1));
  if (validUntil !== null && now + delay >= validUntil) return null;
  return delay;
}
