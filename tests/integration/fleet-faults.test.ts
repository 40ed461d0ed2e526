/**
 * The fleet store failing under live sessions (issue 14): Redis frozen (SIGSTOP) and Redis
 * killed then restarted empty. No live session drops; single-use tickets get 503 while it is
 * down, other tickets are admitted; /healthz and /metrics say down; once Redis is back, single
 * use works again within 15 s without restarting the proxy, and a Redis that came back empty is
 * refilled with the live sessions and the used single-use tickets.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { startProxy, runCli, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";
import { signTicket } from "../../src/ticket/sign.ts";

let engine: EngineKeys;
let tls: EngineKeys;
let echo: TCPSocketListener<undefined>;
let redis: TestRedis;
const started: ProxyProcess[] = [];
const clients: RawWsClient[] = [];

beforeAll(async () => {
  engine = makeEngineKeys("engine.test");
  tls = makeEngineKeys("proxy.test");
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(d) } });
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of started) await p.stop();
  await redis?.stop();
  echo?.stop(true);
  for (const k of [engine, tls]) if (k) removeEngineKeys(k);
});

const ticket = () => signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "127.0.0.1", port: echo.port });

async function member(name: string, extra: string[] = []): Promise<ProxyProcess> {
  const p = await startProxy([
    "serve", "--listen", "127.0.0.1:0", "--cert", tls.certFile, "--key", tls.keyFile,
    "--engine-cert", engine.certFile, "--allow", `127.0.0.1:${echo.port}`,
    "--store", redis.url, "--instance-id", name, ...extra,
  ]);
  started.push(p);
  await p.waitFor(/store redis:\/\/127\.0\.0\.1:\d+ up/);
  return p;
}

async function open(p: ProxyProcess, t: string): Promise<RawWsClient> {
  const c = await RawWsClient.connect(p.port, `/${t}`);
  clients.push(c);
  return c;
}

async function roundTrip(c: RawWsClient, text: string): Promise<void> {
  const got: Uint8Array[] = [];
  c.onBinary = (b) => got.push(b);
  c.send(new TextEncoder().encode(text));
  await c.until(() => Buffer.concat(got).toString() === text, 5000);
}

async function get(p: ProxyProcess, path: string): Promise<string> {
  const r = await fetch(`https://127.0.0.1:${p.port}${path}`, { tls: { rejectUnauthorized: false } } as RequestInit);
  return r.text();
}

const storeState = async (p: ProxyProcess) => (JSON.parse(await get(p, "/healthz")) as { store?: string }).store;

async function eventually(f: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await f()) return Date.now() - t0;
    await Bun.sleep(250);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

/** While the store is down: live sessions flow, single use is 503 on A, B admits, health and metrics say down. */
async function whileDown(a: ProxyProcess, b: ProxyProcess, live: RawWsClient[], round: string): Promise<void> {
  const refused = await upgradeStatus(a.port, `/${ticket()}`);
  expect(refused.status).toBe(503);
  expect(refused.body).toContain("session store unavailable");
  await eventually(async () => (await storeState(a)) === "down", 5000, "A's healthz says down");
  // B notices on its next one-second tick (its kill-list poll misses the deadline).
  await eventually(async () => (await storeState(b)) === "down", 5000, "B's healthz says down");
  expect(await get(a, "/metrics")).toMatch(/^novnc_proxy_store_up 0$/m);
  for (const [i, c] of live.entries()) await roundTrip(c, `${round} ${i}`);
  const admitted = await open(b, ticket());
  expect(admitted.reply.status).toBe(101);
  await roundTrip(admitted, `${round} new on B`);
  expect((await upgradeStatus(a.port, `/${ticket()}`)).status).toBe(503);
}

test("Redis frozen, then killed and restarted empty: no live session drops, single use is 503 while down and works again once back", async () => {
  const a = await member("a", ["--single-use"]);
  const b = await member("b");
  const c = await member("c", ["--single-use"]);
  const usedOnA = ticket();
  const live = [await open(a, usedOnA), await open(b, ticket())];
  for (const s of live) expect(s.reply.status).toBe(101);
  expect(await get(a, "/metrics")).toMatch(/^novnc_proxy_store_up 1$/m);
  expect(await get(a, "/metrics")).toMatch(/^novnc_proxy_store_seconds_count [1-9]/m);
  expect(await storeState(a)).toBe("up");

  // Frozen: connections stay open but nothing answers.
  redis.freeze();
  await whileDown(a, b, live, "frozen");
  redis.thaw();
  const thawed = await eventually(async () => (await upgradeStatus(a.port, `/${ticket()}`)).status === 101, 15_000, "single use works after SIGCONT");
  expect(thawed).toBeLessThan(15_000);
  expect((await upgradeStatus(c.port, `/${usedOnA}`)).status).toBe(403);

  // Killed and restarted without persistence: the store comes back empty and is refilled.
  await redis.stop();
  await whileDown(a, b, live, "stopped");
  await redis.start();
  const back = await eventually(async () => (await upgradeStatus(a.port, `/${ticket()}`)).status === 101, 15_000, "single use works after a restart");
  expect(back).toBeLessThan(15_000);
  // C never saw usedOnA: only A's re-registration of its remembered ticket can refuse it.
  await eventually(async () => (await upgradeStatus(c.port, `/${usedOnA}`)).status === 403, 6000, "A's used ticket is back in the store");
  await eventually(async () => {
    const r = await runCli(["sessions", "--store", redis.url, "--json"]);
    const ids = (JSON.parse(r.stdout) as { instance: string }[]).map((s) => s.instance);
    return ids.includes("a") && ids.filter((i) => i === "b").length >= 2;
  }, 6000, "live sessions re-registered");
  for (const [i, s] of live.entries()) {
    await roundTrip(s, `after ${i}`);
    expect(s.closeFrame).toBeNull();
  }
  expect(await storeState(a)).toBe("up");
  expect(a.output()).toMatch(/store .* down/);
  expect(a.output()).toMatch(/store .* up again/);
}, 90_000);
