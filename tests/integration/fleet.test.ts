/**
 * Several instances of the compiled binary sharing one real Redis (issue 14): single use,
 * caps and the session list across the fleet, a crashed instance's slots freed, `sessions kill`
 * across instances, and many simultaneous uses of one single-use ticket admitting exactly one.
 * Each test uses its own key prefix, so tests do not see each other's sessions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
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
let prefixCounter = 0;

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
const newPrefix = () => `test${process.pid}-${++prefixCounter}:`;

/** A proxy in the fleet under `prefix`, named `name`; 127.0.0.1 is a trusted proxy so tests can name clients. */
async function member(name: string, prefix: string, extra: string[] = []): Promise<ProxyProcess> {
  const p = await startProxy([
    "serve", "--listen", "127.0.0.1:0", "--cert", tls.certFile, "--key", tls.keyFile,
    "--engine-cert", engine.certFile, "--allow", `127.0.0.1:${echo.port}`, "--trusted-proxy", "127.0.0.1",
    "--store", redis.url, "--store-prefix", prefix, "--instance-id", name, ...extra,
  ]);
  started.push(p);
  await p.waitFor(/store redis:\/\/127\.0\.0\.1:\d+ up/);
  return p;
}

async function open(p: ProxyProcess, t: string, headers: Record<string, string> = {}): Promise<RawWsClient> {
  const c = await RawWsClient.connect(p.port, `/${t}`, headers);
  clients.push(c);
  return c;
}

/** Sends bytes through a session and waits for the echo: the session is alive and intact. */
async function roundTrip(c: RawWsClient, text: string): Promise<void> {
  const got: Uint8Array[] = [];
  c.onBinary = (b) => got.push(b);
  c.send(new TextEncoder().encode(text));
  await c.until(() => Buffer.concat(got).toString() === text, 5000);
}

/** Polls until `f` returns true, or throws after timeoutMs; returns the time it took. */
async function eventually(f: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await f()) return Date.now() - t0;
    await Bun.sleep(250);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe("single use and caps across instances", () => {
  test("a single-use ticket used on A is refused 403 on B, even while A's session is open", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--single-use"]);
    const b = await member("b", prefix, ["--single-use"]);
    const t = ticket();
    const s = await open(a, t);
    expect(s.reply.status).toBe(101);
    const again = await upgradeStatus(b.port, `/${t}`);
    expect(again.status).toBe(403);
    expect(again.body).toContain("ticket already used");
    s.close();
    await Bun.sleep(300);
    expect((await upgradeStatus(b.port, `/${t}`)).status).toBe(403);
    expect((await upgradeStatus(b.port, `/${ticket()}`)).status).toBe(101);
  });

  test("a per-ticket cap of 1 holds across A and B and frees when the session ends", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--max-sessions-per-ticket", "1"]);
    const b = await member("b", prefix, ["--max-sessions-per-ticket", "1"]);
    const t = ticket();
    const s = await open(a, t);
    expect(s.reply.status).toBe(101);
    const capped = await upgradeStatus(b.port, `/${t}`);
    expect(capped.status).toBe(429);
    expect(capped.body).toContain("too many sessions for this ticket");
    s.close();
    await eventually(async () => (await upgradeStatus(b.port, `/${t}`)).status === 101, 5000, "the ticket's slot is free on B");
  });

  test("a per-IP cap holds across instances; another client still gets in", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--max-sessions-per-ip", "1"]);
    const b = await member("b", prefix, ["--max-sessions-per-ip", "1"]);
    const s = await open(a, ticket(), { "X-Forwarded-For": "203.0.113.7" });
    expect(s.reply.status).toBe(101);
    expect((await upgradeStatus(b.port, `/${ticket()}`, { "X-Forwarded-For": "203.0.113.7" })).status).toBe(429);
    expect((await upgradeStatus(b.port, `/${ticket()}`, { "X-Forwarded-For": "198.51.100.9" })).status).toBe(101);
    await roundTrip(s, "still flowing");
  });

  test("kill -9 of an instance with a live session frees its slots within 30 s", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--max-sessions-per-ticket", "1", "--max-sessions", "1"]);
    const b = await member("b", prefix, ["--max-sessions-per-ticket", "1", "--max-sessions", "1"]);
    const t = ticket();
    expect((await open(a, t)).reply.status).toBe(101);
    expect((await upgradeStatus(b.port, `/${t}`)).status).toBe(503); // the fleet's one slot is A's
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    const took = await eventually(async () => (await upgradeStatus(b.port, `/${t}`)).status === 101, 30_000, "A's slots are freed");
    expect(took).toBeLessThan(30_000);
  }, 60_000);
});

describe("sessions list and kill", () => {
  test("`sessions` lists the sessions of both instances; `sessions kill` closes one on the other instance", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix);
    const b = await member("b", prefix);
    const onA = await open(a, ticket(), { "X-Forwarded-For": "203.0.113.1" });
    const onB = await open(b, ticket(), { "X-Forwarded-For": "203.0.113.2" });
    await roundTrip(onB, "hello");
    const store = ["--store", redis.url, "--store-prefix", prefix];
    const listed = await runCli(["sessions", ...store, "--json"]);
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(list.length).toBe(2);
    for (const s of list) expect(Object.keys(s).sort()).toEqual(["ageSeconds", "bytesDown", "bytesUp", "client", "id", "instance", "target", "ticket"]);
    const byInstance = Object.fromEntries(list.map((s) => [s.instance, s]));
    expect(byInstance.a).toMatchObject({ client: "203.0.113.1", target: `127.0.0.1:${echo.port}` });
    expect(byInstance.b).toMatchObject({ client: "203.0.113.2", target: `127.0.0.1:${echo.port}` });
    expect(String(byInstance.a!.ticket)).toMatch(/^[0-9a-f]{12}$/);

    const table = await runCli(["sessions", ...store]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(String(byInstance.b!.id));
    expect(table.stdout).toContain("2 live session(s)");

    const killed = await runCli(["sessions", "kill", String(byInstance.b!.id), ...store]);
    expect(killed.code).toBe(0);
    await onB.until(() => onB.closeFrame !== null, 5000);
    expect(onB.closeFrame).toEqual({ code: 1008, reason: "Closed by administrator" });
    expect(b.output()).toMatch(/closed by administrator/);
    await roundTrip(onA, "A untouched");

    const unknown = await runCli(["sessions", "kill", "no-such-session", ...store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toEqual(["novnc-proxy: no live session no-such-session"]);
  });

  test("without --store, sessions says so in one line (exit 2); an unreachable store is one line (exit 1)", async () => {
    const none = await runCli(["sessions"], { NOVNC_PROXY_STORE: "" });
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split("\n").length).toBe(1);
    const down = await runCli(["sessions", "--store", "redis://127.0.0.1:1"]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe("novnc-proxy: store redis://127.0.0.1:1 unreachable");
  });
});

describe("concurrency", () => {
  test("many simultaneous uses of one single-use ticket across three instances admit exactly one", async () => {
    const prefix = newPrefix();
    const fleet = await Promise.all(["a", "b", "c"].map((n) => member(n, prefix, ["--single-use"])));
    const t = ticket();
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => RawWsClient.connect(fleet[i % 3]!.port, `/${t}`)));
    clients.push(...replies);
    const statuses = replies.map((r) => r.reply.status);
    expect(statuses.filter((s) => s === 101).length).toBe(1);
    expect(statuses.filter((s) => s === 403).length).toBe(29);
  });
});
