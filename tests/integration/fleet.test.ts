/**
 * Several instances of the compiled binary sharing one real Redis (issue 14): single use,
 * caps and the session list across the fleet, a crashed instance's slots freed, `sessions kill`
 * across instances, many simultaneous uses of one single-use ticket admitting exactly one, and
 * the store failing under live sessions (frozen with SIGSTOP; killed and restarted empty).
 * Each test uses its own key prefix, so tests do not see each other's sessions; the fault test
 * has a Redis of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { RedisClient, type TCPSocketListener } from "bun";
import { engineTicket, eventually, makeProxyKeys, removeProxyKeys, runCli, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { listenEcho } from "../helpers/targets.ts";
import { RawWsClient, roundTrip, upgradeStatus } from "../helpers/raw-ws.ts";
import { cuttableLink, startRedis, type TestRedis } from "../helpers/redis.ts";

let keys: ProxyKeys;
let echo: TCPSocketListener<undefined>;
let redis: TestRedis;
/** The fault test's own Redis, frozen, killed and restarted. */
let faulty: TestRedis;
const started: ProxyProcess[] = [];
const clients: RawWsClient[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  keys = makeProxyKeys();
  echo = listenEcho();
  [redis, faulty] = await Promise.all([startRedis(), startRedis()]);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of started) await p.stop();
  await redis?.stop();
  await faulty?.stop();
  echo?.stop(true);
  removeProxyKeys(keys);
});

const ticket = () => engineTicket(keys.engine, echo.port);
const newPrefix = () => `test${process.pid}-${++prefixCounter}:`;

/** A proxy in the fleet under `prefix`, named `name`; 127.0.0.1 is a trusted proxy so tests can name clients. */
async function member(name: string, prefix: string, extra: string[] = [], store = redis): Promise<ProxyProcess> {
  const p = await startProxy(
    serveArgs(keys, "--allow", `127.0.0.1:${echo.port}`, "--trusted-proxy", "127.0.0.1", "--store", store.url, "--store-prefix", prefix, "--instance-id", name, ...extra),
  );
  started.push(p);
  await p.waitFor(/store redis:\/\/(:\*\*\*@)?127\.0\.0\.1:\d+ up/);
  return p;
}

async function open(p: ProxyProcess, t: string, headers: Record<string, string> = {}): Promise<RawWsClient> {
  const c = await RawWsClient.connect(p.port, `/${t}`, headers);
  clients.push(c);
  return c;
}

async function get(p: ProxyProcess, path: string): Promise<string> {
  const r = await fetch(`https://127.0.0.1:${p.port}${path}`, { tls: { rejectUnauthorized: false } } as RequestInit);
  return r.text();
}

const storeState = async (p: ProxyProcess) => (JSON.parse(await get(p, "/healthz")) as { store?: string }).store;

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

  test("after SCRIPT FLUSH the instances send the admission script again (NOSCRIPT), single use still holds", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--single-use"]);
    const b = await member("b", prefix, ["--single-use"]);
    const admin = new RedisClient(redis.url);
    try {
      expect(await admin.send("SCRIPT", ["FLUSH"])).toBe("OK");
    } finally {
      admin.close();
    }
    const t = ticket();
    expect((await open(a, t)).reply.status).toBe(101);
    expect((await upgradeStatus(b.port, `/${t}`)).status).toBe(403);
    expect(await storeState(a)).toBe("up");
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
    // IPv6 clients count by their /64 (--ipv6-prefix), across instances too.
    const v6 = await open(a, ticket(), { "X-Forwarded-For": "2001:db8:1:2::1" });
    expect(v6.reply.status).toBe(101);
    expect((await upgradeStatus(b.port, `/${ticket()}`, { "X-Forwarded-For": "2001:db8:1:2::99" })).status).toBe(429);
    expect((await upgradeStatus(b.port, `/${ticket()}`, { "X-Forwarded-For": "2001:db8:1:3::1" })).status).toBe(101);
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

describe("store settings, sessions list and kill", () => {
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

  test.each([
    ["a URL of another scheme", ["--store", "http://127.0.0.1:6379"], /^novnc-proxy: --store "http:\/\/127\.0\.0\.1:6379": scheme "http" not supported/],
    ["a bad URL with a password, not shown", ["--store", "redis://:hunter2@127.0.0.1:6379/x"], /^novnc-proxy: --store "redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/x": the database/],
    ["a store flag without --store", ["--store-prefix", "x:"], /^novnc-proxy: --store-prefix goes with --store URL$/],
    ["a missing password file", ["--store", "redis://127.0.0.1:1", "--store-password-file", "/nonexistent/pw"], /\/nonexistent\/pw/],
  ])("serve refuses %s with one line and exit code 2", async (_name, extra, re) => {
    const r = await runCli(["serve", "--listen", "127.0.0.1:0", "--self-signed", "--allow-unsigned", ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(re);
    expect(r.stderr.trim().split("\n").length).toBe(1);
  });

  test("an instance's default name is its host name and listen port", async () => {
    const prefix = newPrefix();
    const p = await startProxy(serveArgs(keys, "--allow", `127.0.0.1:${echo.port}`, "--store", redis.url, "--store-prefix", prefix));
    started.push(p);
    expect(p.output()).toContain(`instance ${hostname()}:${p.port}`);
    await open(p, ticket());
    const r = await runCli(["sessions", "--store", redis.url, "--store-prefix", prefix, "--json"]);
    expect((JSON.parse(r.stdout) as { instance: string }[]).map((s) => s.instance)).toEqual([`${hostname()}:${p.port}`]);
  });

  test("without --store, sessions says so in one line (exit 2); an unreachable store is one line (exit 1)", async () => {
    const none = await runCli(["sessions"], { NOVNC_PROXY_STORE: "" });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe("novnc-proxy: --store URL (or NOVNC_PROXY_STORE) is required");
    const down = await runCli(["sessions", "--store", "redis://127.0.0.1:1"]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe("novnc-proxy: store redis://127.0.0.1:1 unreachable");
  });

  test.each([
    [["--store", "redis://127.0.0.1:1", "--store", "redis://127.0.0.1:2"], "--store given twice; it takes one value"],
    [["--store", "redis://127.0.0.1:1", "--store_prefix", "a b"], '--store-prefix "a b": expected up to 100 printable characters without spaces'],
    [["--store"], "--store needs a value (url)"],
    [["list", "x", "--store", "redis://127.0.0.1:1"], 'unexpected argument "x": sessions [list | kill ID]'],
    [["kill", "a", "b", "--store", "redis://127.0.0.1:1"], 'unexpected argument "b": sessions [list | kill ID]'],
  ])("sessions %j: one line, exit 2, before any store is asked", async (args, message) => {
    const r = await runCli(["sessions", ...args], { NOVNC_PROXY_STORE: "" });
    expect([r.code, r.stderr]).toEqual([2, `novnc-proxy: ${message}\n`]);
  });
});

describe("sessions reads serve's config files", () => {
  test("the store named in the config file and its .d (as serve reads it) is the one sessions lists; flags and env still win", async () => {
    const prefix = newPrefix();
    const dir = mkdtempSync(join(tmpdir(), "novnc-conf-"));
    try {
      // As on an engine: oVirt's keys in the file, our store settings in a drop-in.
      const conf = join(dir, "ovirt-websocket-proxy.conf");
      writeFileSync(conf, `SSL_CERTIFICATE=${keys.tls.certFile}\nSSL_KEY=${keys.tls.keyFile}\nCERT_FOR_DATA_VERIFICATION=${keys.engine.certFile}\n`);
      mkdirSync(`${conf}.d`);
      writeFileSync(join(`${conf}.d`, "50-store.conf"), `NOVNC_PROXY_STORE=${redis.url}\nNOVNC_PROXY_STORE_PREFIX=${prefix}\n`);
      const p = await startProxy(["serve", "--config", conf, "--listen", "127.0.0.1:0", "--allow", `127.0.0.1:${echo.port}`, "--instance-id", "from-conf"]);
      started.push(p);
      await p.waitFor(/store redis:\/\/127\.0\.0\.1:\d+ up/);
      expect((await open(p, ticket())).reply.status).toBe(101);
      const ids = (r: { stdout: string }) => (JSON.parse(r.stdout) as { instance: string }[]).map((x) => x.instance);

      const byFlag = await runCli(["sessions", "--config", conf, "--json"], { NOVNC_PROXY_STORE: "" });
      expect(byFlag.stderr).toBe("");
      expect(ids(byFlag)).toEqual(["from-conf"]);
      const byEnv = await runCli(["sessions", "--json"], { NOVNC_PROXY_CONFIG: conf, NOVNC_PROXY_STORE: "" });
      expect(ids(byEnv)).toEqual(["from-conf"]);
      // flag > env > file, as for serve
      expect(ids(await runCli(["sessions", "--config", conf, "--store-prefix", `${prefix}other:`, "--json"]))).toEqual([]);
      expect(ids(await runCli(["sessions", "--config", conf, "--json"], { NOVNC_PROXY_STORE_PREFIX: `${prefix}other:` }))).toEqual([]);
      const missing = await runCli(["sessions", "--config", join(dir, "nope.conf")]);
      expect(missing.code).toBe(2);
      expect(missing.stderr.trim()).toBe(`novnc-proxy: config ${join(dir, "nope.conf")}: no such file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("store password", () => {
  test("--store-password-file authenticates; the password is in no log line, /healthz, /metrics or CLI output", async () => {
    const password = "s3cret-store-pass";
    const locked = await startRedis(["--requirepass", password]);
    const dir = mkdtempSync(join(tmpdir(), "novnc-store-"));
    try {
      const file = join(dir, "store.password");
      writeFileSync(file, `${password}\n`, { mode: 0o600 });
      const p = await member("locked", newPrefix(), ["--store-password-file", file], locked);
      expect(await storeState(p)).toBe("up");
      const s = await open(p, ticket());
      expect(s.reply.status).toBe(101);
      const listed = await runCli(["sessions", "--store", locked.url, "--store-password-file", file, "--store-prefix", "x:"]);
      expect(listed.code).toBe(0);
      const wrong = await runCli(["sessions", "--store", `redis://:wrong@127.0.0.1:${locked.port}`]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr.trim()).toBe(`novnc-proxy: store redis://:***@127.0.0.1:${locked.port} unreachable or the password was refused`);
      const checked = await runCli(["check-config", "--self-signed", "--allow-unsigned", "--store", `redis://:${password}@127.0.0.1:${locked.port}`]);
      expect(checked.code).toBe(0);
      expect(checked.stdout).toContain(`redis://:***@127.0.0.1:${locked.port}`);
      const everything = [p.output(), await get(p, "/healthz"), await get(p, "/metrics"), listed.stdout, listed.stderr, wrong.stderr, checked.stdout, checked.stderr].join("\n");
      expect(everything).not.toContain(password);
      expect(everything).not.toContain("wrong@");
    } finally {
      await locked.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("store over TLS", () => {
  test("rediss:// verifies Redis's certificate: trusted through NODE_EXTRA_CA_CERTS it is up, untrusted it is down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "novnc-rediss-"));
    const openssl = (...args: string[]) => Bun.spawnSync(["openssl", ...args], { stdout: "ignore", stderr: "ignore" }).exitCode;
    const at = (f: string) => join(dir, f);
    try {
      expect(openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "2", "-subj", "/CN=redis test CA")).toBe(0);
      expect(openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", at("redis.key"), "-out", at("redis.csr"), "-subj", "/CN=127.0.0.1")).toBe(0);
      writeFileSync(at("ext"), "subjectAltName=IP:127.0.0.1\n");
      expect(openssl("x509", "-req", "-in", at("redis.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("ext"), "-out", at("redis.pem"))).toBe(0);
      const secure = await startRedis([], { cert: at("redis.pem"), key: at("redis.key"), ca: at("ca.pem") });
      try {
        expect(secure.url).toStartWith("rediss://");
        const args = serveArgs(keys, "--allow", `127.0.0.1:${echo.port}`, "--single-use", "--store", secure.url, "--store-prefix", newPrefix());
        const trusted = await startProxy(args, { env: { NODE_EXTRA_CA_CERTS: at("ca.pem") } });
        started.push(trusted);
        expect(await storeState(trusted)).toBe("up");
        expect((await open(trusted, ticket())).reply.status).toBe(101);
        const untrusted = await startProxy(args);
        started.push(untrusted);
        expect(untrusted.output()).toMatch(/store rediss:\/\/127\.0\.0\.1:\d+ unreachable/);
        expect(await storeState(untrusted)).toBe("down");
        expect((await upgradeStatus(untrusted.port, `/${ticket()}`)).status).toBe(503);
      } finally {
        await secure.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe("store faults", () => {
  test("a session that ends while Redis is frozen is deleted from it once Redis answers again, not only when its lease runs out", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--max-sessions-per-ticket", "1"], faulty);
    const b = await member("b", prefix, ["--max-sessions-per-ticket", "1"], faulty);
    const t = ticket();
    const s = await open(a, t);
    expect(s.reply.status).toBe(101);
    expect((await upgradeStatus(b.port, `/${t}`)).status).toBe(429);
    faulty.freeze();
    try {
      await eventually(async () => (await storeState(a)) === "down", 5000, "A sees the store down");
      s.close();
      await Bun.sleep(300);
    } finally {
      faulty.thaw();
    }
    await eventually(async () => (await storeState(a)) === "up", 5000, "A sees the store up");
    // Well inside the 15 s lease: only A's deletion can free the slot this soon.
    await eventually(async () => (await upgradeStatus(b.port, `/${t}`)).status === 101, 3000, "the ticket's slot is free on B");
  });

  test("a session that ends as the path to Redis is cut (its release is lost) is deleted from it once Redis is reachable again", async () => {
    const prefix = newPrefix();
    const link = cuttableLink(faulty.port);
    try {
      const viaLink = { ...faulty, url: link.url };
      const a = await member("a", prefix, ["--max-sessions-per-ticket", "1"], viaLink);
      const b = await member("b", prefix, ["--max-sessions-per-ticket", "1"], faulty);
      const t = ticket();
      const s = await open(a, t);
      expect(s.reply.status).toBe(101);
      expect((await upgradeStatus(b.port, `/${t}`)).status).toBe(429);
      link.cut();
      // A still counts the store up: the release goes out and is lost on the way.
      s.close();
      await eventually(async () => (await storeState(a)) === "down", 5000, "A sees the store down");
      link.heal();
      await eventually(async () => (await storeState(a)) === "up", 5000, "A sees the store up");
      // Well inside the 15 s lease: only A's retried deletion can free the slot this soon.
      await eventually(async () => (await upgradeStatus(b.port, `/${t}`)).status === 101, 3000, "the ticket's slot is free on B");
    } finally {
      link.stop();
    }
  });

  test("a store restarted empty while A cannot reach it: B, back first, never admits the single-use ticket A used (503 until A re-registered it, then 403)", async () => {
    const prefix = newPrefix();
    const link = cuttableLink(faulty.port);
    try {
      const a = await member("a", prefix, ["--single-use"], { ...faulty, url: link.url });
      const b = await member("b", prefix, ["--single-use"], faulty);
      const used = ticket();
      const s = await open(a, used);
      expect(s.reply.status).toBe(101);
      // B is not asked before the restart: a refusal would make B remember the ticket itself.
      link.cut();
      await faulty.stop();
      await faulty.start();
      await eventually(async () => (await storeState(b)) === "up", 10_000, "B sees the store up");
      link.heal();
      await eventually(async () => {
        const status = (await upgradeStatus(b.port, `/${used}`)).status;
        expect([403, 503]).toContain(status);
        return status === 403;
      }, 10_000, "B refuses the ticket A used");
      await roundTrip(s, "A's session never dropped");
    } finally {
      link.stop();
    }
  });

  test("SIGTERM while the store (frozen) is still admitting an upgrade: the upgrade gets 503, no session opens, exit 0 without waiting for the drain timeout", async () => {
    const a = await member("a", newPrefix(), ["--drain-timeout", "20"], faulty);
    faulty.freeze();
    try {
      // The store is still "up" for A: this admission waits for the script's deadline (1 s).
      const pending = upgradeStatus(a.port, `/${ticket()}`);
      await Bun.sleep(300);
      a.proc.kill("SIGTERM");
      await a.waitFor(/SIGTERM: draining/);
      expect((await pending).status).toBe(503);
      // An opened session would hold the drain for its 20 s.
      const exited = await Promise.race([a.proc.exited, Bun.sleep(10_000).then(() => "still draining")]);
      expect(exited).toBe(0);
    } finally {
      faulty.thaw();
    }
  });

  test("Redis frozen, then killed and restarted empty: no live session drops, single use is 503 while down and works again once back", async () => {
    const prefix = newPrefix();
    const a = await member("a", prefix, ["--single-use"], faulty);
    const b = await member("b", prefix, [], faulty);
    const c = await member("c", prefix, ["--single-use"], faulty);
    const usedOnA = ticket();
    const live = [await open(a, usedOnA), await open(b, ticket())];
    for (const s of live) expect(s.reply.status).toBe(101);
    expect(await get(a, "/metrics")).toMatch(/^novnc_proxy_store_up 1$/m);
    expect(await get(a, "/metrics")).toMatch(/^novnc_proxy_store_seconds_count [1-9]/m);
    expect(await storeState(a)).toBe("up");

    // Frozen: connections stay open but nothing answers.
    faulty.freeze();
    await whileDown(a, b, live, "frozen");
    faulty.thaw();
    const thawed = await eventually(async () => (await upgradeStatus(a.port, `/${ticket()}`)).status === 101, 15_000, "single use works after SIGCONT");
    expect(thawed).toBeLessThan(15_000);
    // C reconnects on its own one-second tick; until then it answers 503, never 101.
    await eventually(async () => {
      const status = (await upgradeStatus(c.port, `/${usedOnA}`)).status;
      expect([403, 503]).toContain(status);
      return status === 403;
    }, 5000, "C refuses the ticket A used");

    // Killed and restarted without persistence: the store comes back empty and is refilled.
    await faulty.stop();
    await whileDown(a, b, live, "stopped");
    await faulty.start();
    const back = await eventually(async () => (await upgradeStatus(a.port, `/${ticket()}`)).status === 101, 15_000, "single use works after a restart");
    expect(back).toBeLessThan(15_000);
    // C never saw usedOnA: only A's re-registration of its remembered ticket can refuse it.
    await eventually(async () => (await upgradeStatus(c.port, `/${usedOnA}`)).status === 403, 6000, "A's used ticket is back in the store");
    await eventually(async () => {
      const r = await runCli(["sessions", "--store", faulty.url, "--store-prefix", prefix, "--json"]);
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
  });
