/**
 * Talking to Redis with deadlines, shared by `serve`'s fleet store and `sessions`: Bun's client
 * neither reconnects nor queues here (the caller decides what an outage means), and a frozen
 * server (SIGSTOP) never answers, so every wait is bounded.
 */
import { RedisClient } from "bun";

/** `p`, or a rejection with `onTimeout()` once `ms` have passed without it settling. */
export async function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A client that connected and answered PING within `timeoutMs`; throws (the client closed) otherwise. */
export async function dialRedis(url: string, timeoutMs: number): Promise<RedisClient> {
  const c = new RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: timeoutMs });
  try {
    await withDeadline(c.connect().then(() => c.send("PING", [])), timeoutMs, () => new Error("timed out"));
  } catch (err) {
    c.close();
    throw err;
  }
  return c;
}
