/**
 * Operating the proxy as a service: caps, time limits, message size, handshake timeout,
 * /healthz and /metrics, JSON logs, X-Forwarded-For, reload under live sessions, SIGTERM drain.
 * Every refusal is checked for its status / close code and for leaving other sessions alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import type { TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { engineTicket, makeProxyKeys, removeProxyKeys, runCli, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { listenEcho } from "../helpers/targets.ts";
import { RawWsClient, roundTrip, upgradeStatus } from "../helpers/raw-ws.ts";

let keys: ProxyKeys;
/** A second TLS pair, for reload tests. */
let tlsB: EngineKeys;
let echo: TCPSocketListener<undefined>;
const started: ProxyProcess[] = [];

beforeAll(() => {
  keys = makeProxyKeys();
  tlsB = makeEngineKeys("proxy-b.test");
  echo = listenEcho();
});

afterAll(async () => {
  for (const p of started) await p.stop();
  echo?.stop(true);
  removeProxyKeys(keys);
  if (tlsB) removeEngineKeys(tlsB);
});

const ticket = () => engineTicket(keys.engine, echo.port);

async function proxy(extra: string[], cert = keys.tls): Promise<ProxyProcess> {
  const p = await startProxy(serveArgs({ engine: keys.engine, tls: cert }, "--allow", `127.0.0.1:${echo.port}`, ...extra));
  started.push(p);
  return p;
}

async function get(port: number, path: string): Promise<Response> {
  return fetch(`https://127.0.0.1:${port}${path}`, { tls: { rejectUnauthorized: false } } as RequestInit);
}

describe("caps", () => {
  test("per client address (via a trusted proxy's X-Forwarded-For): the next session gets 429, another client still gets in", async () => {
    const p = await proxy(["--max-sessions-per-ip", "2", "--trusted-proxy", "127.0.0.1"]);
    const as = (ip: string) => ({ "X-Forwarded-For": ip });
    const a1 = await RawWsClient.connect(p.port, `/${ticket()}`, as("203.0.113.7"));
    const a2 = await RawWsClient.connect(p.port, `/${ticket()}`, as("203.0.113.7"));
    expect([a1.reply.status, a2.reply.status]).toEqual([101, 101]);
    expect((await upgradeStatus(p.port, `/${ticket()}`, as("203.0.113.7"))).status).toBe(429);
    const b = await RawWsClient.connect(p.port, `/${ticket()}`, as("198.51.100.9"));
    expect(b.reply.status).toBe(101);
    await roundTrip(a1, "still flowing");
    expect(p.output()).toContain("client=203.0.113.7");
    for (const c of [a1, a2, b]) c.close();
  });

  test("X-Forwarded-For from an untrusted peer is ignored", async () => {
    const p = await proxy(["--max-sessions-per-ip", "1"]);
    const a = await RawWsClient.connect(p.port, `/${ticket()}`, { "X-Forwarded-For": "203.0.113.1" });
    expect(a.reply.status).toBe(101);
    expect((await upgradeStatus(p.port, `/${ticket()}`, { "X-Forwarded-For": "203.0.113.2" })).status).toBe(429);
    a.close();
  });

  test("overall: 503 past --max-sessions; per ticket: 429 past --max-sessions-per-ticket", async () => {
    const p = await proxy(["--max-sessions", "2", "--max-sessions-per-ticket", "1"]);
    const t = ticket();
    const a = await RawWsClient.connect(p.port, `/${t}`);
    expect(a.reply.status).toBe(101);
    expect((await upgradeStatus(p.port, `/${t}`)).status).toBe(429);
    const b = await RawWsClient.connect(p.port, `/${ticket()}`);
    expect(b.reply.status).toBe(101);
    expect((await upgradeStatus(p.port, `/${ticket()}`)).status).toBe(503);
    a.close();
    b.close();
  });
});

describe("time and size limits", () => {
  test("--idle-timeout closes a silent session with 1008 while a busy one keeps flowing", async () => {
    const p = await proxy(["--idle-timeout", "2"]);
    const idle = await RawWsClient.connect(p.port, `/${ticket()}`);
    const busy = await RawWsClient.connect(p.port, `/${ticket()}`);
    for (let i = 0; i < 6; i++) {
      await roundTrip(busy, `tick ${i}`);
      await Bun.sleep(500);
    }
    await idle.until(() => idle.closeFrame !== null, 3000);
    expect(idle.closeFrame).toEqual({ code: 1008, reason: "Idle timeout" });
    expect(busy.closeFrame).toBeNull();
    busy.close();
  });

  test("--session-limit closes any session with 1008 when its time is up", async () => {
    const p = await proxy(["--session-limit", "1"]);
    const c = await RawWsClient.connect(p.port, `/${ticket()}`);
    await roundTrip(c, "hello");
    await c.until(() => c.closeFrame !== null, 4000);
    expect(c.closeFrame).toEqual({ code: 1008, reason: "Session time limit reached" });
  });

  test("--max-message: a bigger message closes 1009, the session next to it is untouched", async () => {
    const p = await proxy(["--max-message", "1024"]);
    const big = await RawWsClient.connect(p.port, `/${ticket()}`);
    const other = await RawWsClient.connect(p.port, `/${ticket()}`);
    big.send(new Uint8Array(2048));
    await big.until(() => big.closeFrame !== null, 3000);
    expect(big.closeFrame).toEqual({ code: 1009, reason: "Message too big" });
    await roundTrip(other, "fine");
    other.close();
    await p.waitFor(/reason="1009 Message too big"/);
  });
});

describe("observability", () => {
  test("/healthz answers JSON; /metrics counts what happened, with fixed labels only", async () => {
    const p = await proxy(["--log-format", "json"]);
    const t = ticket();
    const c = await RawWsClient.connect(p.port, `/${t}`);
    await roundTrip(c, "abc");
    c.close();
    await upgradeStatus(p.port, "/");
    await upgradeStatus(p.port, `/${t}`, { Origin: "https://evil.example" });
    const late = engineTicket(keys.engine, echo.port, { now: new Date(Date.now() - 3_600_000) });
    await upgradeStatus(p.port, `/${late}`);
    await p.waitFor(/session_close/);

    const h = await get(p.port, "/healthz");
    expect(h.status).toBe(200);
    const health = await h.json();
    expect(health).toMatchObject({ status: "up", sessions: 0 });
    expect(new Date(health.certExpires).getTime()).toBeGreaterThan(Date.now());

    const text = await (await get(p.port, "/metrics")).text();
    const value = (line: string) => Number(text.split("\n").find((l) => l.startsWith(line + " "))?.split(" ").pop());
    expect(value("novnc_proxy_sessions_opened_total")).toBe(1);
    expect(value('novnc_proxy_sessions_closed_total{outcome="client_closed"}')).toBe(1);
    expect(value('novnc_proxy_bytes_total{direction="up"}')).toBe(3);
    expect(value('novnc_proxy_bytes_total{direction="down"}')).toBe(3);
    expect(value('novnc_proxy_upgrade_refusals_total{reason="no_ticket"}')).toBe(1);
    expect(value('novnc_proxy_upgrade_refusals_total{reason="origin"}')).toBe(1);
    expect(value('novnc_proxy_upgrade_refusals_total{reason="ticket_time"}')).toBe(1);
    expect(value("novnc_proxy_connect_seconds_count")).toBe(1);
    expect(value("novnc_proxy_cert_expiry_seconds")).toBeGreaterThan(0);
    // Every sample line is NAME{labels} NUMBER.
    for (const l of text.split("\n").filter((x) => x && !x.startsWith("#"))) {
      expect(l).toMatch(/^[a-z_]+(\{[a-z_]+="[^"]*"\})? [-0-9.e+]+$/);
    }
    expect(text).not.toContain(t.slice(0, 16));

    const lines = p.output().trim().split("\n").map((l) => JSON.parse(l));
    const close = lines.find((l) => l.event === "session_close");
    expect(close).toMatchObject({ level: "info", client: "127.0.0.1", bytes_up: 3, bytes_down: 3, outcome: "client_closed" });
    expect(close.ticket).toMatch(/^[0-9a-f]{12}$/);
    const refused = lines.filter((l) => l.event === "upgrade_refused");
    expect(refused.map((l) => l.status).sort()).toEqual([401, 403, 403]);
    expect(refused.every((l) => l.level === "warn" && l.client === "127.0.0.1")).toBe(true);
  });

  test("--metrics-allow keeps /metrics and /healthz from other clients", async () => {
    const p = await proxy(["--metrics-allow", "10.0.0.0/8"]);
    expect((await get(p.port, "/metrics")).status).toBe(403);
    expect((await get(p.port, "/healthz")).status).toBe(403);
  });
});

describe("lifecycle", () => {
  test("SIGHUP reloads the certificate: an open session keeps flowing, a new connection sees the new cert; a bad file keeps the old", async () => {
    const dir = keys.tls.dir;
    const cert = join(dir, "live.cer");
    const key = join(dir, "live.key");
    copyFileSync(keys.tls.certFile, cert);
    copyFileSync(keys.tls.keyFile, key);
    const p = await startProxy(["serve", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key, "--engine-cert", keys.engine.certFile, "--allow", `127.0.0.1:${echo.port}`]);
    started.push(p);
    const c = await RawWsClient.connect(p.port, `/${ticket()}`);
    await roundTrip(c, "before");

    copyFileSync(tlsB.certFile, cert);
    copyFileSync(tlsB.keyFile, key);
    p.proc.kill("SIGHUP");
    await p.waitFor(/reloaded settings, certificate.*proxy-b\.test/);
    await roundTrip(c, "after reload");
    const seen = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${p.port}`], { stdin: new TextEncoder().encode(""), timeout: 10_000 });
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(seen.stdout.toString())![0];
    expect(new X509Certificate(pem).subject).toContain("proxy-b.test");

    writeFileSync(cert, "not a certificate\n");
    p.proc.kill("SIGHUP");
    await p.waitFor(/reload failed, keeping the current settings/);
    await roundTrip(c, "still here");
    expect((await upgradeStatus(p.port, "/")).status).toBe(401);
    c.close();
  });

  test("SIGHUP also re-reads the config file: a changed allowlist applies to new sessions", async () => {
    const conf = join(keys.tls.dir, "reload.conf");
    const line = (port: number) => `NOVNC_PROXY_ALLOW=127.0.0.1:${port}\n`;
    writeFileSync(conf, line(echo.port + 1 > 65535 ? 1 : echo.port + 1));
    const p = await startProxy([...serveArgs(keys), "--config", conf]);
    started.push(p);
    expect((await upgradeStatus(p.port, `/${ticket()}`)).status).toBe(403);
    writeFileSync(conf, line(echo.port));
    p.proc.kill("SIGHUP");
    await p.waitFor(/SIGHUP: reloaded settings/);
    expect((await upgradeStatus(p.port, `/${ticket()}`)).status).toBe(101);
  });

  test("SIGTERM drains: new upgrades stop, open sessions get 1001 after --drain-timeout, exit 0", async () => {
    const p = await proxy(["--drain-timeout", "1"]);
    const c = await RawWsClient.connect(p.port, `/${ticket()}`);
    await roundTrip(c, "x");
    p.proc.kill("SIGTERM");
    await c.until(() => c.closeFrame !== null, 5000);
    expect(c.closeFrame).toEqual({ code: 1001, reason: "Server shutting down" });
    expect(await p.proc.exited).toBe(0);
    expect(p.output()).toContain('reason="1001 Server shutting down"');
  });
});

describe("recording", () => {
  test("--record writes one 0600 file per session holding both directions in order", async () => {
    const { mkdtempSync, readdirSync, statSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { parseRecording } = await import("../../src/relay/recorder.ts");
    const dir = mkdtempSync(join(tmpdir(), "novnc-rec-"));
    try {
      const p = await proxy(["--record", dir]);
      const c = await RawWsClient.connect(p.port, `/${ticket()}`);
      await roundTrip(c, "ping");
      c.close();
      await p.waitFor(/close \S+ .*up=4 down=4/);
      await Bun.sleep(200);
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      const file = join(dir, files[0]!);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const rec = parseRecording(new Uint8Array(readFileSync(file)));
      expect(rec.header).toMatchObject({ format: "novnc-proxy-record/1", client: "127.0.0.1" });
      expect(rec.records.map((r) => [r.direction, new TextDecoder().decode(r.bytes)])).toEqual([[0, "ping"], [1, "ping"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--record with a missing folder stops start-up with one line, exit 2", async () => {
    const r = await runCli(serveArgs(keys, "--record", "/nonexistent/rec"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--record /nonexistent/rec: no such folder");
  });
});
