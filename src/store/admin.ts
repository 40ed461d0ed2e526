/**
 * What `novnc-proxy sessions` does against the fleet store: list the live sessions of every
 * instance, and ask the instance holding one to close it (it polls its kill list each second).
 */
import type { RedisClient } from "bun";
import { dialRedis, withDeadline } from "./dial.ts";
import { RuntimeError } from "../errors.ts";
import { LIVE_SCRIPT, storeKeys } from "./keys.ts";

/** One live session as `sessions --json` prints it. */
export interface FleetSession {
  id: string;
  instance: string;
  client: string;
  /** HOST:PORT (IPv6 in brackets). */
  target: string;
  /** Short hash of the ticket (never the ticket). */
  ticket: string;
  /** As of the holding instance's last lease refresh (at most 5 s old). */
  bytesUp: number;
  bytesDown: number;
  ageSeconds: number;
}

const TIMEOUT_MS = 5000;

const timed = <T>(p: Promise<T>, what: string): Promise<T> =>
  withDeadline(p, TIMEOUT_MS, () => new RuntimeError(`store: no answer to ${what} within ${TIMEOUT_MS / 1000} s`));

/** Connects (one try, bounded); RuntimeError naming the shown URL when Redis cannot be reached. */
export async function openAdminClient(url: string, shown: string): Promise<RedisClient> {
  try {
    return await dialRedis(url, TIMEOUT_MS);
  } catch {
    // Bun reports a refused password as a closed connection, so say both when one was given.
    throw new RuntimeError(`store ${shown} unreachable${new URL(url).password ? " or the password was refused" : ""}`);
  }
}

/** The fleet's live sessions, oldest first. */
export async function listFleetSessions(c: RedisClient, prefix: string): Promise<FleetSession[]> {
  const k = storeKeys(prefix);
  const [nowText, ...ids] = (await timed(c.send("EVAL", [LIVE_SCRIPT, "1", k.sessions]), "list")) as string[];
  const now = Number(nowText);
  const rows = await timed(Promise.all(ids.map((id) => c.send("HGETALL", [k.session(id)]) as Promise<Record<string, string> | null>)), "list");
  const out: FleetSession[] = [];
  for (const h of rows) {
    if (!h || !h.id) continue; // ended between the two reads
    out.push({
      id: h.id,
      instance: h.instance ?? "",
      client: h.client ?? "",
      target: h.target ?? "",
      ticket: h.ticket ?? "",
      bytesUp: Number(h.bytesUp ?? 0),
      bytesDown: Number(h.bytesDown ?? 0),
      ageSeconds: Math.max(0, Math.round((now - Number(h.openedAt ?? now)) / 1000)),
    });
  }
  return out.sort((a, b) => b.ageSeconds - a.ageSeconds);
}

/**
 * Asks the instance holding `id` to close it and waits (up to `waitMs`) until it is gone.
 * Returns the instance, or null when no live session has that id.
 */
export async function killFleetSession(c: RedisClient, prefix: string, id: string, waitMs = 6000): Promise<{ instance: string; closed: boolean } | null> {
  const k = storeKeys(prefix);
  // A session's hash lives exactly as long as its lease (deleted when it ends): one key says
  // whether it is live and where, without listing the fleet.
  const instance = (await timed(c.send("HGET", [k.session(id), "instance"]), "lookup")) as string | null;
  if (!instance) return null;
  await timed(c.send("RPUSH", [k.kill(instance), id]), "kill");
  // A dead instance never takes its list: do not let requests pile up there.
  await timed(c.send("PEXPIRE", [k.kill(instance), "60000"]), "kill");
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await Bun.sleep(200);
    if (!(await timed(c.send("EXISTS", [k.session(id)]), "check"))) return { instance, closed: true };
  }
  return { instance, closed: false };
}
