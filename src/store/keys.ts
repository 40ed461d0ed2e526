/**
 * Key names and Lua scripts of the fleet store, shared by `serve` and `sessions`. Pure.
 *
 * Layout under the prefix (default `novnc-proxy:`):
 * - `sessions`            sorted set: session id -> lease end (ms, Redis clock)
 * - `ip:<client>`         sorted set: the same, per client address
 * - `ticket:<sha256>`     sorted set: the same, per ticket
 * - `used:<sha256>`       string: a claimed single-use ticket, expires when verification would stop accepting it
 * - `session:<id>`        hash: instance, client, target, ticket hash, bytes, openedAt (expires with the lease)
 * - `kill:<instance>`     list: session ids an operator asked that instance to close
 * Tickets appear only as SHA-256 of their signature, never in the clear.
 */
import { createHash } from "node:crypto";

export const DEFAULT_STORE_PREFIX = "novnc-proxy:";

/** A session counts for this long after its instance last refreshed it (crashed instance: gone within this). */
export const LEASE_MS = 15_000;
/** How often an instance refreshes its sessions' leases (and re-registers them if Redis lost them). */
export const REFRESH_MS = 5_000;

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

export function storeKeys(prefix: string) {
  return {
    sessions: `${prefix}sessions`,
    ip: (client: string) => `${prefix}ip:${client}`,
    ticket: (ticketId: string) => `${prefix}ticket:${sha(ticketId)}`,
    used: (ticketId: string) => `${prefix}used:${sha(ticketId)}`,
    session: (id: string) => `${prefix}session:${id}`,
    kill: (instance: string) => `${prefix}kill:${instance}`,
  };
}

/** Redis's clock in ms, so every instance compares leases against the same clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Admission as one atomic step. KEYS: sessions, ip, ticket, used, session.
 * ARGV: id, maxTotal, maxIp, maxTicket, singleUse (0/1), usedTtlMs, leaseMs, instance, client,
 * target, ticketHash, hasTicket (0/1). Returns "ok" or the refusal code (same order as the local checks).
 */
export const ADMIT_SCRIPT = `${NOW}
local lease = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 'cap_total' end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if tonumber(ARGV[3]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'cap_ip' end
if ARGV[12] == '1' then
  if ARGV[5] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then return 'ticket_reused' end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if tonumber(ARGV[4]) > 0 and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 'cap_ticket' end
  if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[8], 'PX', ARGV[6]) end
  redis.call('ZADD', KEYS[3], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[3], lease)
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[2], lease)
redis.call('HSET', KEYS[5], 'id', ARGV[1], 'instance', ARGV[8], 'client', ARGV[9], 'target', ARGV[10], 'ticket', ARGV[11], 'bytesUp', 0, 'bytesDown', 0, 'openedAt', now)
redis.call('PEXPIRE', KEYS[5], lease)
return 'ok'`;

/**
 * Lease refresh of one live session; also re-registers it when Redis lost it (restarted empty).
 * KEYS: sessions, ip, ticket (or ""), session. ARGV: id, leaseMs, instance, client, target,
 * ticketHash, bytesUp, bytesDown, ageMs.
 */
export const REFRESH_SCRIPT = `${NOW}
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[2], lease)
if KEYS[3] ~= '' then
  redis.call('ZADD', KEYS[3], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[3], lease)
end
redis.call('HSET', KEYS[4], 'id', ARGV[1], 'instance', ARGV[3], 'client', ARGV[4], 'target', ARGV[5], 'ticket', ARGV[6], 'bytesUp', ARGV[7], 'bytesDown', ARGV[8], 'openedAt', now - tonumber(ARGV[9]))
redis.call('PEXPIRE', KEYS[4], lease)
return 'ok'`;

/**
 * An ended session out of every set, in one call. KEYS: sessions, ip, ticket (or ""), session,
 * and optionally used (a single-use claim to give back: the session never opened). ARGV: id,
 * instance (the claim is deleted only while it is still this instance's).
 */
export const RELEASE_SCRIPT = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if KEYS[3] ~= '' then redis.call('ZREM', KEYS[3], ARGV[1]) end
redis.call('DEL', KEYS[4])
if KEYS[5] and redis.call('GET', KEYS[5]) == ARGV[2] then redis.call('DEL', KEYS[5]) end
return 'ok'`;

/** Live session ids (lease not over) and Redis's clock. KEYS: sessions. Returns {now, id...}. */
export const LIVE_SCRIPT = `${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
table.insert(ids, 1, tostring(now))
return ids`;
