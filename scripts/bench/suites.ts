/**
 * The measurements, one function each, against any contender's endpoint. Each returns numbers
 * or throws with a short reason; the caller interleaves contenders and repeats.
 */
import { connectEndpoint, waitFor, type BenchConn, type Endpoint } from "./clients.ts";
import type { Contender, TicketPool } from "./contenders.ts";
import { cpuSecondsOf, memAvailableKiB, memoryOf, type Memory } from "./procs.ts";
import { encodeCommand } from "./protocol.ts";
import { quantile } from "./stats.ts";

const MiB = 1024 * 1024;

/** Time allowed for moving `bytes` at a crawl (20 MiB/s) plus slack: a stuck run fails, not hangs. */
const transferTimeout = (bytes: number): number => 10_000 + (bytes / (20 * MiB)) * 1000;

async function withConn<T>(ep: Endpoint, fn: (conn: BenchConn) => Promise<T>): Promise<T> {
  const conn = await connectEndpoint(ep);
  try {
    return await fn(conn);
  } finally {
    conn.terminate();
  }
}

/** A transfer's rate, and the CPU the contender's process(es) spent per MiB (NaN without one). */
export interface Throughput {
  mibps: number;
  cpuMsPerMiB: number;
}

const cpuNow = (c: Contender): number => (c.pid === null ? NaN : cpuSecondsOf(c.pid));

/** Downstream (target -> client, the VNC direction that matters): MiB/s over `bytes`. */
export function measureDown(c: Contender, bytes: number): Promise<Throughput> {
  return withConn(c.endpoint, async (conn) => {
    let got = 0;
    conn.onData = (b) => {
      got += b.byteLength;
    };
    const cpu0 = cpuNow(c);
    const t0 = performance.now();
    conn.send(encodeCommand({ kind: "down", bytes }));
    await waitFor(conn, () => got >= bytes, transferTimeout(bytes), "download");
    const seconds = (performance.now() - t0) / 1000;
    return { mibps: bytes / MiB / seconds, cpuMsPerMiB: ((cpuNow(c) - cpu0) * 1000) / (bytes / MiB) };
  });
}

/** Upstream (client -> target) in `messageBytes` messages: MiB/s until the target acknowledges. */
export function measureUp(c: Contender, bytes: number, messageBytes: number): Promise<Throughput> {
  return withConn(c.endpoint, async (conn) => {
    const count = Math.ceil(bytes / messageBytes);
    const total = count * messageBytes;
    let acked = false;
    conn.onData = (b) => {
      if (b.byteLength > 0) acked = true;
    };
    const msg = conn.framed(crypto.getRandomValues(new Uint8Array(messageBytes)));
    conn.send(encodeCommand({ kind: "up", bytes: total }));
    const cpu0 = cpuNow(c);
    const t0 = performance.now();
    const deadline = t0 + transferTimeout(total);
    for (let i = 0; i < count; i++) {
      if (!conn.sendRaw(msg)) {
        await conn.drained();
        if (conn.isClosed) throw new Error("upload: connection closed");
        if (performance.now() > deadline) throw new Error("upload: timed out");
      }
    }
    await waitFor(conn, () => acked, Math.max(1000, deadline - performance.now()), "upload ack");
    const seconds = (performance.now() - t0) / 1000;
    return { mibps: total / MiB / seconds, cpuMsPerMiB: ((cpuNow(c) - cpu0) * 1000) / (total / MiB) };
  });
}

/** Small-message round trips (16 bytes, like VNC input events), one at a time: p50 and p99 in µs. */
export function measureRtt(c: Contender, count: number, warmup: number): Promise<{ p50: number; p99: number }> {
  return withConn(c.endpoint, async (conn) => {
    const size = 16;
    let got = 0;
    let wake: (() => void) | null = null;
    conn.onData = (b) => {
      got += b.byteLength;
      if (got >= size && wake) {
        const w = wake;
        wake = null;
        w();
      }
    };
    conn.send(encodeCommand({ kind: "echo" }));
    const msg = conn.framed(new Uint8Array(size).fill(0x2a));
    const samples: number[] = [];
    const closed = conn.closed.then(() => {
      throw new Error("round trip: connection closed");
    });
    closed.catch(() => {});
    for (let i = 0; i < warmup + count; i++) {
      got = 0;
      const echoed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const t0 = Bun.nanoseconds();
      conn.sendRaw(msg);
      await Promise.race([echoed, closed]);
      if (i >= warmup) samples.push((Bun.nanoseconds() - t0) / 1000);
    }
    return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
  });
}

/** Opens one session and proves it reaches the target (one echoed byte). */
async function openVerified(ep: Endpoint, timeoutMs = 15_000): Promise<BenchConn> {
  const conn = await connectEndpoint(ep, timeoutMs);
  try {
    let got = 0;
    conn.onData = (b) => {
      got += b.byteLength;
    };
    conn.send(encodeCommand({ kind: "echo" }));
    conn.send(new Uint8Array([0x2a]));
    await waitFor(conn, () => got >= 1, timeoutMs, "session echo");
    conn.onData = () => {};
    return conn;
  } catch (err) {
    conn.terminate();
    throw err;
  }
}

/** New sessions per second: `count` full set-ups (TLS, upgrade, ticket, target, one echo), `concurrency` at a time. */
export async function measureSetup(c: Contender, count: number, concurrency: number, tickets: TicketPool): Promise<number> {
  if (c.id === "novnc") tickets.prepare(count);
  let next = 0;
  let failures = 0;
  let firstError = "";
  const t0 = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const conn = await openVerified(c.endpoint);
        conn.close();
      } catch (err) {
        failures++;
        firstError ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  if (failures > count / 100) throw new Error(`${failures}/${count} set-ups failed (${firstError})`);
  return (count - failures) / seconds;
}

export interface IdleStep {
  /** Sessions asked for at this step. */
  sessions: number;
  /** Sessions actually open and verified when memory was read. */
  held: number;
  /** Memory growth over the no-session baseline, per held session. */
  kibPerSession: number;
  memory: Memory;
  /** Why fewer than `sessions` are held. */
  stopped?: string;
}

export interface IdleOptions {
  steps: number[];
  concurrency: number;
  /** Give up opening after this long (websockify forks a process per session). */
  budgetMs: number;
  /** Stop opening once the contender's memory passes this, or the machine's MemAvailable drops below `minAvailableKiB`. */
  maxKiB: number;
  minAvailableKiB: number;
  tickets: TicketPool;
}

/** Settles, then reads memory; returns the reading. */
async function settledMemory(pid: number): Promise<Memory> {
  await Bun.sleep(1000);
  return memoryOf(pid);
}

/**
 * Memory per idle open session: opens sessions up to each step (they stay open, so the steps
 * accumulate), and reads the contender's memory at each. Call on a freshly started contender.
 */
export async function measureIdle(c: Contender, o: IdleOptions): Promise<IdleStep[]> {
  if (c.pid === null) throw new Error("no process to measure");
  const pid = c.pid;
  const max = Math.max(...o.steps);
  if (c.id === "novnc") o.tickets.prepare(max + 1);
  (await openVerified(c.endpoint)).close(); // warm-up: first-session allocations are not per-session cost
  const base = await settledMemory(pid);
  const conns: BenchConn[] = [];
  const out: IdleStep[] = [];
  const t0 = performance.now();
  let stopped: string | undefined;
  let lastCheck = 0;
  let consecutiveFailures = 0;
  try {
    for (const step of [...o.steps].sort((a, b) => a - b)) {
      while (!stopped && conns.length < step) {
        const batch = Math.min(o.concurrency, step - conns.length);
        const results = await Promise.allSettled(Array.from({ length: batch }, () => openVerified(c.endpoint, 20_000)));
        for (const r of results) {
          if (r.status === "fulfilled") {
            conns.push(r.value);
            consecutiveFailures = 0;
          } else {
            consecutiveFailures++;
            if (consecutiveFailures >= 2 * o.concurrency) stopped = `fell over (${String(r.reason?.message ?? r.reason).slice(0, 60)})`;
          }
        }
        const now = performance.now();
        if (!stopped && now - t0 > o.budgetMs) stopped = `took over ${Math.round(o.budgetMs / 1000)} s to open`;
        if (!stopped && now - lastCheck > 1000) {
          lastCheck = now;
          const m = memoryOf(pid);
          if (m.kib > o.maxKiB) stopped = `memory guard at ${Math.round(m.kib / 1024)} MiB`;
          else if (memAvailableKiB() < o.minAvailableKiB) stopped = "machine memory guard";
        }
      }
      const memory = await settledMemory(pid);
      const held = conns.filter((x) => !x.isClosed).length;
      out.push({
        sessions: step,
        held,
        kibPerSession: held > 0 ? (memory.kib - base.kib) / held : NaN,
        memory,
        stopped: held < step ? (stopped ?? `${step - held} closed`) : undefined,
      });
      if (stopped) break;
    }
  } finally {
    for (const x of conns) x.terminate();
  }
  return out;
}

export interface FloodResult {
  /** Peak memory during the flood minus the memory before it, MiB. */
  growthMiB: number;
  /** What the slow client actually read, MiB/s (should be the configured rate). */
  readMiBps: number;
}

/**
 * A target floods `bytes` towards a client that reads only `rateMiBps`, for `seconds`: the
 * contender's peak memory growth, sampled every 50 ms. Call on a freshly started contender.
 */
export async function measureFlood(c: Contender, bytes: number, rateMiBps: number, seconds: number, tickets: TicketPool): Promise<FloodResult> {
  if (c.pid === null) throw new Error("no process to measure");
  const pid = c.pid;
  if (c.id === "novnc") tickets.prepare(2);
  (await openVerified(c.endpoint)).close();
  const base = await settledMemory(pid);
  let peak = base.kib;
  const conn = await connectEndpoint(c.endpoint);
  const tickMs = 50;
  const perTick = (rateMiBps * MiB * tickMs) / 1000;
  let allowance = perTick;
  let read = 0;
  conn.onData = (b) => {
    read += b.byteLength;
    if (read >= allowance) conn.pause();
  };
  const t0 = performance.now();
  const ticker = setInterval(() => {
    allowance += perTick;
    if (read < allowance) conn.resume();
    peak = Math.max(peak, memoryOf(pid).kib);
  }, tickMs);
  try {
    conn.send(encodeCommand({ kind: "down", bytes }));
    await Promise.race([Bun.sleep(seconds * 1000), conn.closed]);
    if (conn.isClosed) throw new Error(`flood: connection closed after ${Math.round(read / MiB)} MiB`);
    peak = Math.max(peak, memoryOf(pid).kib);
  } finally {
    clearInterval(ticker);
    conn.terminate();
  }
  const elapsed = (performance.now() - t0) / 1000;
  return { growthMiB: (peak - base.kib) / 1024, readMiBps: read / MiB / elapsed };
}
