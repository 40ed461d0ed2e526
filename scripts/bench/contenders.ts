/**
 * What the bench runs against: throw-away keys (openssl, in a temp dir), the TCP target, and the
 * contenders (novnc-proxy, the minimal Bun relay baseline, websockify, direct TCP, the bare Bun
 * wss ceiling), each started
 * as its own process on 127.0.0.1 with port 0 (websockify needs a port: a free one is picked).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signTicket } from "../../src/ticket/sign.ts";
import type { Endpoint } from "./clients.ts";
import { startChild, type Child } from "./procs.ts";
import type { ContenderId } from "./table.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const BINARY = join(ROOT, "dist/novnc-proxy");
const TARGETS_SCRIPT = join(ROOT, "scripts/bench/targets.ts");

export interface Keys {
  dir: string;
  tlsCert: string;
  tlsKey: string;
  engineCert: string;
  engineKeyPem: string;
  engineCertPem: string;
}

/** RSA-2048 keys like an oVirt install's: a TLS identity for 127.0.0.1 and an engine signing key. */
export function makeKeys(): Keys {
  const dir = mkdtempSync(join(tmpdir(), "novnc-bench-"));
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  const tlsKey = join(dir, "tls.key");
  const tlsCert = join(dir, "tls.crt");
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tlsKey, "-out", tlsCert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
  const engineKey = join(dir, "engine.key");
  const engineCert = join(dir, "engine.cer");
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", engineKey, "-out", engineCert, "-days", "2", "-subj", "/CN=engine.bench"]);
  return { dir, tlsCert, tlsKey, engineCert, engineKeyPem: readFileSync(engineKey, "utf8"), engineCertPem: readFileSync(engineCert, "utf8") };
}

export function removeKeys(keys: Keys): void {
  rmSync(keys.dir, { recursive: true, force: true });
}

/**
 * Tickets for the proxy, signed ahead of time so signing never counts in a measurement.
 * Each session gets its own (a proxy may refuse a replayed ticket).
 */
export class TicketPool {
  private pool: string[] = [];
  constructor(
    private keys: Keys,
    private targetPort: number,
  ) {}

  /** Makes sure `n` unused tickets are ready. */
  prepare(n: number): void {
    while (this.pool.length < n) {
      this.pool.push(
        signTicket({ keyPem: this.keys.engineKeyPem, certPem: this.keys.engineCertPem, host: "127.0.0.1", port: this.targetPort, lifetimeSeconds: 3600 }),
      );
    }
  }

  /** One ticket (signed now if the pool ran dry). */
  take(): string {
    this.prepare(1);
    return this.pool.pop()!;
  }
}

/** A free loopback port (for websockify, which cannot report a port 0 listener). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The TCP target process (scripts/bench/targets.ts tcp). */
export async function startTarget(): Promise<{ child: Child; port: number }> {
  const child = startChild("target", [process.execPath, TARGETS_SCRIPT, "tcp"]);
  const m = await child.waitFor(/ready (\d+)/);
  return { child, port: Number(m[1]) };
}

export interface Contender {
  id: ContenderId;
  endpoint: Endpoint;
  /** The server process whose memory is measured; null for direct TCP (nothing in between). */
  pid: number | null;
  /** The last lines the server printed (diagnostics when it falls over). */
  tail(): string;
  stop(): Promise<void>;
}

export interface StartContext {
  keys: Keys;
  targetPort: number;
  tickets: TicketPool;
}

/** Starts one contender and waits until it listens; `extra` flags go to novnc-proxy only (e.g. --store). */
export async function startContender(id: ContenderId, ctx: StartContext, extra: string[] = []): Promise<Contender> {
  switch (id) {
    case "direct":
      return { id, endpoint: { kind: "tcp", port: ctx.targetPort }, pid: null, tail: () => "", stop: async () => {} };
    case "ceiling":
    case "relay": {
      // targets.ts: `wss` is the bare server (the ceiling), `relay` the minimal relay to the target.
      const mode = id === "ceiling" ? ["wss"] : ["relay", "--target", String(ctx.targetPort)];
      const child = startChild(id, [process.execPath, TARGETS_SCRIPT, ...mode, "--cert", ctx.keys.tlsCert, "--key", ctx.keys.tlsKey]);
      const m = await child.waitFor(/ready (\d+)/);
      return { id, endpoint: { kind: "wss", port: Number(m[1]) }, pid: child.pid, tail: child.tail, stop: () => child.stop() };
    }
    case "novnc": {
      const k = ctx.keys;
      const args = ["serve", "--listen", "127.0.0.1:0", "--cert", k.tlsCert, "--key", k.tlsKey, "--engine-cert", k.engineCert, "--allow", `127.0.0.1:${ctx.targetPort}`];
      // Every bench session comes from 127.0.0.1: lift the per-address and total caps (the bench measures capacity).
      args.push(...uncappedFlags(), ...extra);
      const child = startChild("novnc-proxy", [BINARY, ...args], { NODE_ENV: "production", NOVNC_PROXY_LOG_LEVEL: "info" });
      const m = await child.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
      return { id, endpoint: { kind: "wss", port: Number(m[1]), path: () => `/${ctx.tickets.take()}` }, pid: child.pid, tail: child.tail, stop: () => child.stop() };
    }
    case "websockify": {
      const port = await freePort();
      const child = startChild("websockify", [
        "websockify",
        "--cert",
        ctx.keys.tlsCert,
        "--key",
        ctx.keys.tlsKey,
        "--ssl-only",
        `127.0.0.1:${port}`,
        `127.0.0.1:${ctx.targetPort}`,
      ]);
      await child.waitFor(/Listen on|proxying from/i);
      await waitListening(port, child);
      return { id, endpoint: { kind: "wss", port }, pid: child.pid, tail: child.tail, stop: () => child.stop() };
    }
  }
}

/** Polls until a TCP connect to `port` succeeds (websockify prints before it listens). */
async function waitListening(port: number, child: Child, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      if (child.proc.exitCode !== null) throw new Error(`${child.name} exited: ${child.tail().slice(-300)}`);
      await Bun.sleep(50);
    }
  }
  throw new Error(`${child.name} not listening on ${port} within ${timeoutMs} ms`);
}

let capFlags: string[] | null = null;

/** `--max-sessions 0 --max-sessions-per-ip 0` when the binary has session caps (older builds do not). */
export function uncappedFlags(): string[] {
  if (capFlags) return capFlags;
  const help = Bun.spawnSync([BINARY, "serve", "--help"], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  const text = help.stdout.toString() + help.stderr.toString();
  capFlags = [];
  if (text.includes("--max-sessions-per-ip")) capFlags.push("--max-sessions-per-ip", "0");
  if (/--max-sessions[=\s]/.test(text)) capFlags.push("--max-sessions", "0");
  return capFlags;
}

/**
 * A local redis-server for the `--store` rows: free loopback port, no persistence, stopped by
 * pid with the other children. Null when redis-server is not installed.
 */
export async function startBenchRedis(): Promise<{ child: Child; url: string } | null> {
  if (Bun.which("redis-server") === null) return null;
  const port = await freePort();
  const child = startChild("redis-server", ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
  await child.waitFor(/Ready to accept connections/);
  return { child, url: `redis://127.0.0.1:${port}` };
}

/** Mean fleet-store round trip per admission, ms, from a novnc-proxy's /metrics. */
export async function storeRoundTripMs(c: Contender): Promise<number> {
  const r = await fetch(`https://127.0.0.1:${c.endpoint.port}/metrics`, { tls: { rejectUnauthorized: false } } as RequestInit);
  const text = await r.text();
  const sum = Number(/^novnc_proxy_store_seconds_sum (\S+)$/m.exec(text)?.[1]);
  const count = Number(/^novnc_proxy_store_seconds_count (\S+)$/m.exec(text)?.[1]);
  if (!(count > 0)) throw new Error("no store round trips in /metrics");
  return (sum / count) * 1000;
}

/** Whether the websockify command is installed. */
export function websockifyAvailable(): boolean {
  return Bun.which("websockify") !== null;
}
