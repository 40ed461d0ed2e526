import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SERVER_DEFAULTS } from "../../src/config/compile.ts";
import { SessionRegistry } from "../../src/server/limits.ts";
import { RedisStore } from "../../src/store/redis-store.ts";
import type { StoredSession } from "../../src/store/session-store.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

const session = (id: string, client: string, ticketId: string | null): StoredSession => ({
  id, client, ticketId, ticketHash: "000000000000", targetLabel: "127.0.0.1:5900", openedAt: Date.now(), bytesUp: 0, bytesDown: 0,
});

let redis: TestRedis;
const stores: RedisStore[] = [];

/** An instance's store on the shared Redis, single use on, one session per client address. */
async function instance(name: string): Promise<RedisStore> {
  const store = new RedisStore(
    new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true, maxSessionsPerIp: 1 }),
    { url: redis.url, shown: redis.url, prefix: "test:", instanceId: name },
    { kill: () => false },
  );
  await store.start();
  expect(store.status()).toBe("up");
  stores.push(store);
  return store;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const s of stores) await s.stop();
  await redis.stop();
});

describe("RedisStore: a session admitted but never opened", () => {
  test("abandon frees the fleet's slots and gives the single-use ticket back to every instance", async () => {
    const [a, b] = [await instance("a"), await instance("b")];
    const until = Date.now() + 60_000;
    const first = session("s1", "10.0.0.1", "t-abandoned");
    expect(await a.admit(first, until, Date.now())).toBeNull();
    expect(await b.admit(session("s2", "10.0.0.1", "t-other"), until, Date.now())).toMatchObject({ code: "cap_ip" });
    a.abandon(first);
    await a.stop(); // waits for the release to land
    expect(await b.admit(session("s3", "10.0.0.1", "t-abandoned"), until, Date.now())).toBeNull();
  });

  test("a session that ended after opening keeps its ticket used across the fleet", async () => {
    const [a, b] = [await instance("c"), await instance("d")];
    const until = Date.now() + 60_000;
    const first = session("s4", "10.0.0.2", "t-used");
    expect(await a.admit(first, until, Date.now())).toBeNull();
    a.remove(first);
    await a.stop();
    expect(await b.admit(session("s5", "10.0.0.2", "t-used"), until, Date.now())).toMatchObject({ status: 403, code: "ticket_reused" });
  });
});
