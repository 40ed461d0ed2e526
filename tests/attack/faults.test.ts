/**
 * Faults on the VNC side and load, through the real binary (security.md "Resource exhaustion"
 * and "Every rejection ... keeps the proxy serving everyone else, and loses no byte of any other
 * session"). Each fault gives its documented close code and reason while a healthy session
 * runs alongside and keeps every byte; 1 000 connect/disconnect cycles leave no fds or memory
 * behind; live sessions keep their bytes intact while bad requests arrive at the same time.
 * Scale: 500 live sessions against 500 bad requests, as issue 8 asks (about 1.5 s on 2 cores).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { Socket, Subprocess, TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";
import { Rng } from "../helpers/fuzz.ts";

const LIVE = 500;
const BAD = 500;
const CYCLES = 1000;
const UP_BYTES = 8 * 1024;
const DOWN_BYTES = 128 * 1024;

let keys: ProxyKeys;
/** Same subject as the engine, another key: a forger's engine. */
let other: EngineKeys;
/** Faults: short connect and idle timeouts. */
let faulty: ProxyProcess;
/** Load and cycles: no idle timeout, no per-IP or per-ticket caps (every client is 127.0.0.1). */
let load: ProxyProcess;
const used: string[] = [];
const listeners: TCPSocketListener<unknown>[] = [];

function ticket(host: string, port: number, signer = keys.engine): string {
  const t = engineTicket(signer, port, { host });
  used.push(t);
  return t;
}

function listen(socket: Parameters<typeof Bun.listen<undefined>>[0]["socket"]): TCPSocketListener<undefined> {
  const l = Bun.listen<undefined>({ hostname: "127.0.0.1", port: 0, socket: { binaryType: "uint8array", ...socket } as never });
  listeners.push(l as TCPSocketListener<unknown>);
  return l;
}

/** Deterministic bytes for a session seed. */
function pattern(seed: number, length: number): Uint8Array {
  return new Rng(seed * 2654435761).bytes(length);
}

const sha = (b: Uint8Array | Uint8Array[]) => {
  const h = createHash("sha256");
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest("hex");
};

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await Bun.sleep(20);
  return cond();
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

// Targets.
let echo: TCPSocketListener<undefined>;
let silent: TCPSocketListener<undefined>;
let resetter: TCPSocketListener<undefined>;
let hangup: TCPSocketListener<undefined>;
let tlsOnly: TCPSocketListener<undefined>;
let patterned: TCPSocketListener<undefined>;
let refusedPort: number;
/** A listener with a full backlog that never accepts: connects to it hang (SYNs are dropped). */
let blackhole: Subprocess<"ignore", "pipe", "ignore"> | null = null;
let blackholePort = 0;

const BLACKHOLE_PY = `
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
filler = socket.socket(); filler.connect(s.getsockname())
print(s.getsockname()[1], flush=True)
time.sleep(120)
`;
const upstreamErrors: string[] = [];

beforeAll(async () => {
  keys = makeProxyKeys();
  other = makeEngineKeys("engine.test");
  // Echoes everything (small messages only, so writes are never partial).
  echo = listen({ data: (s: Socket<undefined>, d: Uint8Array) => void s.write(d) });
  silent = listen({ data() {} });
  resetter = listen({
    open(s: Socket<undefined>) {
      s.write(new Uint8Array(100_000).fill(7));
      setTimeout(() => s.terminate(), 100);
    },
    data() {},
  });
  hangup = listen({ open: (s: Socket<undefined>) => void s.end(), data() {} });
  // A VeNCrypt-only VNC server: version, then one security type, 19.
  tlsOnly = listen({ open: (s: Socket<undefined>) => void s.write(new Uint8Array([...new TextEncoder().encode("RFB 003.008\n"), 1, 19])), data() {} });
  // Reads a 4-byte seed + UP_BYTES (checked), then answers DOWN_BYTES of the seed's pattern and hangs up.
  patterned = listen({
    open(s: Socket<undefined>) {
      (s as unknown as { got: Uint8Array[]; n: number }).got = [];
      (s as unknown as { n: number }).n = 0;
    },
    data(s: Socket<undefined>, d: Uint8Array) {
      const st = s as unknown as { got: Uint8Array[]; n: number; out?: Uint8Array; off?: number };
      st.got.push(d.slice());
      st.n += d.length;
      if (st.n < 4 + UP_BYTES || st.out) return;
      const all = Buffer.concat(st.got);
      const seed = all.readUInt32BE(0);
      if (all.length !== 4 + UP_BYTES || sha(all.subarray(4)) !== sha(pattern(seed + 1_000_000, UP_BYTES))) upstreamErrors.push(`seed ${seed}: upstream bytes differ`);
      st.out = pattern(seed, DOWN_BYTES);
      st.off = 0;
      const flush = () => {
        while (st.off! < st.out!.length) {
          const n = s.write(st.out!.subarray(st.off!));
          if (n <= 0) return;
          st.off! += n;
        }
        s.end();
      };
      (s as unknown as { flush: () => void }).flush = flush;
      flush();
    },
    drain(s: Socket<undefined>) {
      (s as unknown as { flush?: () => void }).flush?.();
    },
  });
  const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  refusedPort = closed.port;
  closed.stop(true);

  blackhole = Bun.spawn(["python3", "-c", BLACKHOLE_PY], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  const reader = blackhole.stdout.getReader();
  blackholePort = Number(new TextDecoder().decode((await reader.read()).value).trim());
  reader.releaseLock();

  const common = serveArgs(keys, "--allow", "127.0.0.1:1-65535");
  [faulty, load] = await Promise.all([
    startProxy([...common, "--allow", "no-such-host.invalid", "--connect-timeout", "1", "--idle-timeout", "2"]),
    startProxy([...common, "--max-sessions-per-ip", "0", "--max-sessions-per-ticket", "0"]),
  ]);
});

afterAll(async () => {
  blackhole?.kill("SIGKILL");
  await Promise.all([faulty?.stop(), load?.stop()]);
  for (const l of listeners) l.stop(true);
  removeProxyKeys(keys);
  if (other) removeEngineKeys(other);
});

/** A session to the echo target that keeps sending 1 KiB every 20 ms and checks every echoed byte. */
class HealthySession {
  sent: Uint8Array[] = [];
  got: Uint8Array[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private rng = new Rng(42);
  constructor(public c: RawWsClient) {
    c.onBinary = (b) => this.got.push(b);
    this.timer = setInterval(() => {
      const b = this.rng.bytes(1024);
      this.sent.push(b);
      c.send(b);
    }, 20);
  }
  static async open(port: number): Promise<HealthySession> {
    const c = await RawWsClient.connect(port, `/${ticket("127.0.0.1", echo.port)}`);
    expect(c.reply.status).toBe(101);
    return new HealthySession(c);
  }
  /** Every byte sent so far came back, in order, and the session is still open. */
  async intact(): Promise<boolean> {
    const sent = Buffer.concat(this.sent.slice());
    const want = sent.length;
    await until(() => this.got.reduce((n, b) => n + b.length, 0) >= want, 5000);
    const got = Buffer.concat(this.got);
    return this.c.closeFrame === null && !this.c.ended && got.length >= want && got.subarray(0, want).equals(sent);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.c.close();
  }
}

async function closeOf(port: number, path: string, timeoutMs = 8000): Promise<{ code: number; reason: string; seconds: number }> {
  const t0 = Date.now();
  const c = await RawWsClient.connect(port, path);
  expect(c.reply.status).toBe(101);
  await c.until(() => c.closeFrame !== null || c.ended, timeoutMs);
  c.close();
  return { ...(c.closeFrame ?? { code: 1006, reason: "" }), seconds: (Date.now() - t0) / 1000 };
}

describe("VNC-side faults: documented close code and reason, and a healthy session beside them keeps every byte", () => {
  let healthy: HealthySession;
  beforeAll(async () => {
    healthy = await HealthySession.open(faulty.port);
  });
  afterAll(() => healthy?.stop());

  test("control: the healthy session flows", async () => {
    await Bun.sleep(200);
    expect(healthy.sent.length).toBeGreaterThan(3);
    expect(await healthy.intact()).toBe(true);
  });

  test("a target that refuses the connection: 1011 'refused'", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", refusedPort)}`);
    expect(r.code).toBe(1011);
    expect(r.reason).toMatch(/refused/);
    expect(await healthy.intact()).toBe(true);
  });

  test("a target whose connect never completes (full listen backlog): 1011 within the 1 s connect timeout plus slack", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", blackholePort)}`);
    expect(r.code).toBe(1011);
    expect(r.reason).toMatch(/timeout|unreachable/);
    expect(r.seconds).toBeLessThan(5);
    expect(await healthy.intact()).toBe(true);
  });

  test("a target that accepts and never sends a byte (not a VNC server): 1011 after --connect-timeout", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", silent.port)}`);
    expect(r.code).toBe(1011);
    expect(r.reason).toBe("VNC server sent nothing");
    expect(await healthy.intact()).toBe(true);
  });

  test("a target that resets mid-stream (RST): 1011 or 1000, with a reason", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", resetter.port)}`);
    expect([1000, 1011]).toContain(r.code);
    expect(r.reason.length).toBeGreaterThan(0);
    expect(await healthy.intact()).toBe(true);
  });

  test("a target that hangs up at once: 1000 'Target closed'", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", hangup.port)}`);
    expect(r).toMatchObject({ code: 1000, reason: "Target closed" });
    expect(await healthy.intact()).toBe(true);
  });

  test("a plain ticket to a VeNCrypt-only server: 1011, no downgrade", async () => {
    const r = await closeOf(faulty.port, `/${ticket("127.0.0.1", tlsOnly.port)}`);
    expect(r.code).toBe(1011);
    expect(r.reason).toMatch(/TLS/);
    expect(await healthy.intact()).toBe(true);
  });

  test("a host name that does not resolve: 403 (generic reason; the detail is logged) before any websocket", async () => {
    const r = await upgradeStatus(faulty.port, `/${ticket("no-such-host.invalid", 5900)}`);
    expect(r.status).toBe(403);
    expect(r.body).toBe("target not allowed\n");
    expect(await healthy.intact()).toBe(true);
  });

  test("after all of it the healthy session has lost nothing", async () => {
    expect(healthy.sent.length).toBeGreaterThan(20);
    expect(await healthy.intact()).toBe(true);
  });
});

describe("load", () => {
  test(`${CYCLES} sequential connect/disconnect cycles: open fds and RSS return near their starting level`, async () => {
    const cycle = async () => {
      const c = await RawWsClient.connect(load.port, `/${t}`);
      if (c.reply.status !== 101) throw new Error(`status ${c.reply.status}`);
      c.send(new Uint8Array([1, 2, 3, 4]));
      await c.until(() => c.received >= 4, 5000);
      c.close();
      await c.until(() => c.ended, 5000).catch(() => {});
    };
    const t = ticket("127.0.0.1", echo.port);
    for (let i = 0; i < 50; i++) await cycle(); // warm up: lazy allocations, JIT, TLS caches
    await Bun.sleep(300);
    const fd0 = fdCount(load.pid);
    const rss0 = rssKiB(load.pid);
    for (let i = 0; i < CYCLES; i++) await cycle();
    // Let the last closes settle.
    await until(() => fdCount(load.pid) <= fd0 + 2, 5000);
    const fd1 = fdCount(load.pid);
    const rss1 = rssKiB(load.pid);
    expect(fd1 - fd0).toBeLessThanOrEqual(2);
    expect(rss1 - rss0).toBeLessThan(48 * 1024);
    const health = await (await fetch(`https://127.0.0.1:${load.port}/healthz`, { tls: { rejectUnauthorized: false } })).json();
    expect(health.sessions).toBe(0);
  }, 60_000);

  test(`${LIVE} live sessions keep every byte intact while ${BAD} bad requests arrive`, async () => {
    upstreamErrors.length = 0;
    const live = Array.from({ length: LIVE }, (_, i) => i + 1).map(async (seed) => {
      const c = await RawWsClient.connect(load.port, `/${ticket("127.0.0.1", patterned.port)}`, {}, 20_000);
      if (c.reply.status !== 101) return `seed ${seed}: status ${c.reply.status}`;
      const got: Uint8Array[] = [];
      c.onBinary = (b) => got.push(b);
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, seed);
      c.send(head);
      const up = pattern(seed + 1_000_000, UP_BYTES);
      for (let off = 0; off < up.length; off += 2048) c.send(up.subarray(off, off + 2048));
      await c.until(() => c.closeFrame !== null || c.ended, 30_000).catch(() => {});
      c.close();
      if (c.closeFrame?.code !== 1000) return `seed ${seed}: closed ${JSON.stringify(c.closeFrame)}`;
      if (sha(got) !== sha(pattern(seed, DOWN_BYTES))) return `seed ${seed}: downstream bytes differ (${c.received} bytes)`;
      return null;
    });
    const rng = new Rng(7);
    const forged = ticket("127.0.0.1", patterned.port, other);
    const bad = Array.from({ length: BAD }, async (_, i) => {
      switch (i % 6) {
        case 0:
          return (await upgradeStatus(load.port, `/${forged}`)).status === 403;
        case 1:
          return (await upgradeStatus(load.port, `/${ticket("127.0.0.1", patterned.port)}`, { Origin: "https://evil.example" })).status === 403;
        case 2:
          return (await upgradeStatus(load.port, `/${Buffer.from(rng.bytes(300)).toString("base64")}`)).status === 403;
        case 3:
          return (await upgradeStatus(load.port, `/${ticket("169.254.169.254", 5900)}`)).status === 403;
        case 4: {
          const r = await closeOf(load.port, `/${ticket("127.0.0.1", refusedPort)}`, 10_000);
          return r.code === 1011;
        }
        default: {
          // Garbage on the TLS port: no TLS at all.
          const s = await Bun.connect({ hostname: "127.0.0.1", port: load.port, socket: { data() {} } });
          s.write(rng.bytes(512));
          await Bun.sleep(50);
          s.terminate();
          return true;
        }
      }
    });
    const [liveResults, badResults] = await Promise.all([Promise.all(live), Promise.all(bad)]);
    expect(liveResults.filter((x) => x !== null).slice(0, 5)).toEqual([]);
    expect(upstreamErrors.slice(0, 5)).toEqual([]);
    expect(badResults.filter((ok) => !ok).length).toBe(0);
  }, 60_000);
});

describe("secrets", () => {
  test("no ticket used in this file appears in either proxy's output", () => {
    const out = faulty.output() + load.output();
    expect(used.length).toBeGreaterThan(LIVE);
    for (const t of used) expect(out.includes(t.slice(0, 24))).toBe(false);
  });
});
