/**
 * `npm run bench`: novnc-proxy side by side with the smallest possible Bun relay (wss in, TCP
 * out, backpressure, no checks: the baseline that shows the product's own cost), websockify,
 * direct TCP and a bare Bun wss server (the ceiling), interleaved (A B C D, B C D A, ...), medians of repeats with min–max. Prints a
 * table and writes it as markdown (dist/bench-results.md, or --out FILE).
 *
 *   bun scripts/bench.ts [--quick] [--repeats N] [--out FILE] [--only novnc,relay,websockify,direct,ceiling]
 *
 * Installs nothing: without websockify (`apt-get install websockify`) its column is skipped.
 * Loopback only; every process it starts is stopped by pid, including on Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { resolve } from "node:path";
import {
  BINARY,
  ROOT,
  TicketPool,
  makeKeys,
  removeKeys,
  startBenchRedis,
  startContender,
  startTarget,
  storeRoundTripMs,
  websockifyAvailable,
  uncappedFlags,
  type Contender,
  type Keys,
  type StartContext,
} from "./bench/contenders.ts";
import { openFileLimit, stopAllChildren } from "./bench/procs.ts";
import { fmt, median } from "./bench/stats.ts";
import { measureDown, measureFlood, measureIdle, measureRtt, measureSetup, measureUp } from "./bench/suites.ts";
import { CONTENDER_LABELS, cellMedian, mark, renderMarkdown, renderText, tableCells, type Cell, type ContenderId, type Row } from "./bench/table.ts";

const MiB = 1024 * 1024;
const ALL: ContenderId[] = ["novnc", "relay", "websockify", "direct", "ceiling"];

/** Sizes and counts of one run; `--quick` shrinks them so a run takes a minute or two. */
export interface BenchPlan {
  quick: boolean;
  repeats: number;
  memRepeats: number;
  downBytes: number;
  upBytes: number;
  upMessage: number;
  rttCount: number;
  rttWarmup: number;
  setupCount: number;
  setupConcurrency: number;
  idleSteps: number[];
  idleConcurrency: number;
  idleBudgetMs: number;
  floodBytes: number;
  floodSeconds: number;
  floodRateMiBps: number;
  helpRuns: number;
  /** Whole-run watchdog. */
  deadlineMs: number;
}

export interface BenchArgs {
  plan: BenchPlan;
  out: string;
  only: ContenderId[];
}

/** Command-line flags -> what to run. Pure. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | "help" {
  let quick = false;
  let repeats: number | undefined;
  let out = resolve(ROOT, "dist/bench-results.md");
  let only = ALL;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") quick = true;
    else if (a === "--help" || a === "-h") return "help";
    else if (a === "--out") out = resolve(value());
    else if (a === "--repeats") {
      repeats = Number(value());
      if (!Number.isInteger(repeats) || repeats < 1 || repeats > 50) throw new Error("--repeats: expected 1 to 50");
    } else if (a === "--only") {
      only = value().split(",").map((s) => s.trim()) as ContenderId[];
      const bad = only.filter((c) => !ALL.includes(c));
      if (bad.length > 0 || only.length === 0) throw new Error(`--only: expected a list of ${ALL.join(", ")}`);
    } else throw new Error(`unknown flag ${a}`);
  }
  const plan: BenchPlan = quick
    ? {
        quick,
        repeats: repeats ?? 3,
        memRepeats: 1,
        downBytes: 256 * MiB,
        upBytes: 128 * MiB,
        upMessage: 16 * 1024,
        rttCount: 2000,
        rttWarmup: 200,
        setupCount: 200,
        setupConcurrency: 16,
        idleSteps: [200, 1000],
        idleConcurrency: 50,
        idleBudgetMs: 30_000,
        floodBytes: 1024 * MiB,
        floodSeconds: 3,
        floodRateMiBps: 5,
        helpRuns: 20,
        deadlineMs: 8 * 60_000,
      }
    : {
        quick,
        repeats: repeats ?? 3,
        memRepeats: repeats ?? 3,
        downBytes: 512 * MiB,
        upBytes: 256 * MiB,
        upMessage: 16 * 1024,
        rttCount: 10_000,
        rttWarmup: 500,
        setupCount: 1000,
        setupConcurrency: 32,
        idleSteps: [1000, 5000],
        idleConcurrency: 100,
        idleBudgetMs: 120_000,
        floodBytes: 1024 * MiB,
        floodSeconds: 10,
        floodRateMiBps: 5,
        helpRuns: 20,
        deadlineMs: 45 * 60_000,
      };
  return { plan, out, only };
}

const USAGE = `usage: bun scripts/bench.ts [--quick] [--repeats N] [--out FILE] [--only ${ALL.join(",")}]
  --quick     small sizes, memory tests once: about two minutes
  --repeats   repeats of each measurement (default 3)
  --out       markdown file to write (default dist/bench-results.md)
  --only      contenders to run (default all)`;

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Results collected per row and contender. */
class Results {
  private cells = new Map<string, Partial<Record<ContenderId, Cell>>>();

  add(metric: string, id: ContenderId, value: number, note?: string): void {
    const row = this.row(metric);
    const cell = row[id];
    if (cell?.kind === "samples") {
      cell.samples.push(value);
      if (note) cell.note = note;
    } else if (cell?.kind !== "error") row[id] = { kind: "samples", samples: [value], note };
  }

  fail(metric: string, id: ContenderId, message: string): void {
    const row = this.row(metric);
    if (row[id]?.kind !== "error") row[id] = { kind: "error", message: message.slice(0, 120) };
  }

  skip(metric: string, id: ContenderId, why: string): void {
    this.row(metric)[id] = { kind: "skipped", why };
  }

  note(metric: string, id: ContenderId, note: string): void {
    const cell = this.row(metric)[id];
    if (cell?.kind === "samples") cell.note = note;
    else this.row(metric)[id] = { kind: "samples", samples: [], note };
  }

  row(metric: string): Partial<Record<ContenderId, Cell>> {
    let r = this.cells.get(metric);
    if (!r) this.cells.set(metric, (r = {}));
    return r;
  }
}

/** Runs `fn`, recording its value(s) or its failure, and prints one progress line. */
async function attempt(results: Results, metrics: string[], id: ContenderId, fn: () => Promise<number[]>, unit: string): Promise<void> {
  try {
    const values = await fn();
    values.forEach((v, i) => results.add(metrics[i]!, id, v));
    progress(`  ${metrics[0]!.padEnd(34)} ${CONTENDER_LABELS[id].padEnd(18)} ${values.map(fmt).join(" / ")} ${unit}`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    for (const m of metrics) results.fail(m, id, msg);
    progress(`  ${metrics[0]!.padEnd(34)} ${CONTENDER_LABELS[id].padEnd(18)} FAILED: ${msg}`);
  }
}

const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  return `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${release()}, load average at start ${load}`;
}

function websockifyVersion(): string {
  const r = spawnSync("dpkg-query", ["-W", "-f", "${Version}", "websockify"], { encoding: "utf8", timeout: 5000 });
  return r.status === 0 && r.stdout ? r.stdout.trim() : "version unknown";
}

/** Wall time of `cmd` (spawn to exit), median of `runs`, in ms. */
function startupMs(cmd: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: "ignore", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`${cmd.join(" ")} exited ${r.status ?? r.signal}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<number> {
  let args: BenchArgs | "help";
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  const { plan, out } = args;
  let only = args.only;

  if (!existsSync(BINARY)) {
    console.error(`${BINARY} not found: build it first (npm run build)`);
    return 2;
  }
  const wantWebsockify = only.includes("websockify");
  const haveWebsockify = websockifyAvailable();
  if (wantWebsockify && !haveWebsockify) {
    progress("websockify not found: its column is skipped. Install the reference with: apt-get install websockify");
    only = only.filter((c) => c !== "websockify");
  }

  // Descriptors: the client side holds every idle session, the proxy two per session.
  const needFds = 2 * Math.max(...plan.idleSteps) + 512;
  const limit = openFileLimit();
  if (limit.soft < needFds) {
    if (limit.hard >= needFds && !process.env.NOVNC_BENCH_REEXEC) {
      progress(`raising the open-file limit from ${limit.soft} to ${limit.hard} (prlimit) and restarting`);
      const r = Bun.spawnSync(["prlimit", `--nofile=${limit.hard}:${limit.hard}`, "--", process.execPath, ...process.argv.slice(1)], {
        stdio: ["inherit", "inherit", "inherit"],
        env: { ...process.env, NOVNC_BENCH_REEXEC: "1" },
      });
      return r.exitCode ?? 1;
    }
    const fit = Math.floor((limit.soft - 512) / 2);
    progress(`open-file limit ${limit.soft} is too low for ${Math.max(...plan.idleSteps)} sessions: capping idle sessions at ${fit} (raise it: ulimit -n 20000)`);
    plan.idleSteps = plan.idleSteps.map((s) => Math.min(s, fit));
  }

  const startedAt = new Date();
  const machine = machineLine();
  const watchdog = setTimeout(() => {
    progress(`bench exceeded ${plan.deadlineMs / 60_000} min: stopping`);
    void stopAllChildren().finally(() => {
      if (keysDir) removeKeys(keysDir);
      process.exit(1);
    });
  }, plan.deadlineMs);

  const results = new Results();
  const keys = makeKeys();
  keysDir = keys;
  const M = {
    down: `Downstream MiB/s (${plan.downBytes / MiB} MiB)`,
    up: `Upstream MiB/s (${plan.upMessage / 1024} KiB msgs)`,
    downCpu: "Server CPU ms per MiB, down",
    upCpu: "Server CPU ms per MiB, up",
    p50: "Round trip p50 µs (16 B)",
    p99: "Round trip p99 µs (16 B)",
    setup: "New sessions / s",
    setupStore: "New sessions / s with --store (local Redis)",
    storeRtt: "Store round trip per set-up ms (mean)",
    idle: (n: number) => `KiB per idle session @ ${n}`,
    flood: `Peak memory growth MiB (slow reader, ${plan.floodSeconds} s)`,
    help: "`--help` ms (median of 20)",
    size: "Binary MiB",
  };
  try {
    progress(`novnc-proxy bench${plan.quick ? " --quick" : ""}: ${only.map((c) => CONTENDER_LABELS[c]).join(", ")}; ${plan.repeats} repeats`);
    const target = await startTarget();
    const tickets = new TicketPool(keys, target.port);
    const ctx: StartContext = { keys, targetPort: target.port, tickets };

    // Throughput, latency and set-up rate: long-lived contenders, interleaved.
    const running: Contender[] = [];
    for (const id of only) {
      try {
        running.push(await startContender(id, ctx));
      } catch (err) {
        for (const m of [M.down, M.up, M.p50, M.p99, M.setup]) results.fail(m, id, (err as Error).message);
        progress(`  could not start ${CONTENDER_LABELS[id]}: ${(err as Error).message}`);
      }
    }
    // The same binary with --store on a local Redis, measured in the same set-up rounds (issue 14).
    let withStore: Contender | null = null;
    if (only.includes("novnc")) {
      try {
        const redis = await startBenchRedis();
        if (redis) withStore = await startContender("novnc", ctx, ["--store", redis.url]);
        else for (const m of [M.setupStore, M.storeRtt]) results.skip(m, "novnc", "redis-server not installed");
      } catch (err) {
        for (const m of [M.setupStore, M.storeRtt]) results.fail(m, "novnc", (err as Error).message);
      }
    }
    for (let rep = 0; rep < plan.repeats; rep++) {
      progress(`repeat ${rep + 1}/${plan.repeats}`);
      const order = rotate(running, rep);
      for (const c of order) {
        await attempt(results, c.pid === null ? [M.down] : [M.down, M.downCpu], c.id, async () => {
          const r = await measureDown(c, plan.downBytes);
          return c.pid === null ? [r.mibps] : [r.mibps, r.cpuMsPerMiB];
        }, "MiB/s, CPU ms/MiB");
      }
      for (const c of order) {
        await attempt(results, c.pid === null ? [M.up] : [M.up, M.upCpu], c.id, async () => {
          const r = await measureUp(c, plan.upBytes, plan.upMessage);
          return c.pid === null ? [r.mibps] : [r.mibps, r.cpuMsPerMiB];
        }, "MiB/s, CPU ms/MiB");
      }
      for (const c of order) {
        await attempt(results, [M.p50, M.p99], c.id, async () => {
          const r = await measureRtt(c, plan.rttCount, plan.rttWarmup);
          return [r.p50, r.p99];
        }, "µs (p50 / p99)");
      }
      const setups: [Contender, string][] = order.map((c) => [c, M.setup]);
      if (withStore) setups.splice(rep % (setups.length + 1), 0, [withStore, M.setupStore]);
      for (const [c, metric] of setups) {
        if (c.id === "novnc") tickets.prepare(plan.setupCount);
        await attempt(results, [metric], c.id, async () => [await measureSetup(c, plan.setupCount, plan.setupConcurrency, tickets)], "/s");
      }
    }
    if (withStore) {
      const c = withStore;
      await attempt(results, [M.storeRtt], "novnc", async () => [await storeRoundTripMs(c)], "ms");
      await c.stop();
    }
    for (const c of running) await c.stop();

    // Memory: a fresh process per run, so earlier tests' heap does not hide growth.
    const memIds = only.filter((c) => c !== "direct");
    if (only.includes("direct")) {
      results.skip(M.downCpu, "direct", "no relay");
      results.skip(M.upCpu, "direct", "no relay");
      for (const n of plan.idleSteps) results.skip(M.idle(n), "direct", "no relay");
      results.skip(M.flood, "direct", "no relay");
    }
    for (let rep = 0; rep < plan.memRepeats; rep++) {
      progress(`memory repeat ${rep + 1}/${plan.memRepeats}`);
      for (const id of rotate(memIds, rep)) {
        let c: Contender | null = null;
        try {
          c = await startContender(id, ctx);
          const steps = await measureIdle(c, {
            steps: plan.idleSteps,
            concurrency: plan.idleConcurrency,
            budgetMs: plan.idleBudgetMs,
            maxKiB: 4 * 1024 * MiB / 1024,
            minAvailableKiB: 3 * 1024 * 1024,
            tickets,
          });
          for (const s of steps) {
            results.add(M.idle(s.sessions), id, s.kibPerSession);
            if (s.held < s.sessions) results.note(M.idle(s.sessions), id, `[held ${s.held} of ${s.sessions}: ${s.stopped}]`);
            else if (s.memory.measure === "pss") results.note(M.idle(s.sessions), id, `[PSS of ${s.memory.procs} processes]`);
            progress(`  ${M.idle(s.sessions).padEnd(34)} ${CONTENDER_LABELS[id].padEnd(18)} ${s.kibPerSession.toFixed(1)} KiB (held ${s.held}, ${Math.round(s.memory.kib / 1024)} MiB ${s.memory.measure}${s.stopped ? `; ${s.stopped}` : ""})`);
          }
          for (const n of plan.idleSteps) {
            if (!steps.some((s) => s.sessions === n)) results.note(M.idle(n), id, `[not reached]`);
          }
          if (steps.some((s) => s.stopped)) {
            const last = c.tail().split("\n").filter((l) => l.trim()).slice(-2).join(" | ");
            if (last) progress(`    ${CONTENDER_LABELS[id]} last said: ${last.slice(0, 300)}`);
          }
        } catch (err) {
          for (const n of plan.idleSteps) results.fail(M.idle(n), id, (err as Error).message);
          progress(`  idle sessions ${CONTENDER_LABELS[id]} FAILED: ${(err as Error).message}`);
        } finally {
          await c?.stop();
        }
        c = null;
        try {
          c = await startContender(id, ctx);
          const cc = c;
          await attempt(results, [M.flood], id, async () => {
            const r = await measureFlood(cc, plan.floodBytes, plan.floodRateMiBps, plan.floodSeconds, tickets);
            progress(`    (slow client read ${r.readMiBps.toFixed(2)} MiB/s)`);
            return [r.growthMiB];
          }, "MiB");
        } catch (err) {
          results.fail(M.flood, id, (err as Error).message);
        } finally {
          await c?.stop();
        }
      }
    }
    target.child.stop();

    // Start-up time and size.
    for (const [id, cmd] of [["novnc", [BINARY, "--help"]], ["websockify", ["websockify", "--help"]]] as const) {
      if (!only.includes(id)) continue;
      try {
        results.add(M.help, id, startupMs([...cmd], plan.helpRuns));
      } catch (err) {
        results.fail(M.help, id, (err as Error).message);
      }
    }
    if (only.includes("novnc")) {
      results.add(M.size, "novnc", statSync(BINARY).size / MiB);
      results.note(M.size, "novnc", `[Bun runtime alone: ${fmt(statSync(process.execPath).size / MiB)}]`);
    }
  } finally {
    clearTimeout(watchdog);
    await stopAllChildren();
    removeKeys(keys);
    keysDir = null;
  }

  const atLeast = (min: number) => (n: number, c: number) =>
    `${mark(`≥ ${min}`, n, (v) => v >= min)}; ${mark("≥ 75 % of ceiling", Number.isFinite(c) ? n / c : NaN, (v) => v >= 0.75)}`;
  const rows: Row[] = [
    { metric: M.down, verdict: atLeast(1000), cells: results.row(M.down) },
    { metric: M.up, verdict: atLeast(900), cells: results.row(M.up) },
    { metric: M.downCpu, cells: results.row(M.downCpu) },
    { metric: M.upCpu, cells: results.row(M.upCpu) },
    { metric: M.p50, target: "≤ 100", meets: (n) => n <= 100, cells: results.row(M.p50) },
    { metric: M.p99, cells: results.row(M.p99) },
    { metric: M.setup, target: "≥ 1000", meets: (n) => n >= 1000, cells: results.row(M.setup) },
    {
      metric: M.setupStore,
      verdict: (n) => {
        const ratio = n / cellMedian(results.row(M.setup).novnc);
        return mark("≥ 0.8× without --store", ratio, (v) => v >= 0.8) + (Number.isFinite(n) ? ` (${ratio.toFixed(2)}×)` : "");
      },
      cells: results.row(M.setupStore),
    },
    { metric: M.storeRtt, cells: results.row(M.storeRtt) },
    ...plan.idleSteps.map((n) => ({ metric: M.idle(n), target: "≤ 64", meets: (v: number) => v <= 64, cells: results.row(M.idle(n)) })),
    { metric: M.flood, target: "≤ 32", meets: (n) => n <= 32, cells: results.row(M.flood) },
    { metric: M.help, target: "< 50", meets: (n) => n < 50, cells: results.row(M.help) },
    { metric: M.size, target: "as small as Bun allows", cells: results.row(M.size) },
  ];
  const columns = ALL.filter((c) => args.only.includes(c));
  const cells = tableCells(rows, columns);
  const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
  console.log(`\n${renderText(cells)}\n`);

  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const md = [
    `## Benchmark: novnc-proxy vs websockify`,
    ``,
    `Produced by \`${command}\` on ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC in ${seconds} s.`,
    `Machine: ${machine}. Bun ${Bun.version}; websockify ${haveWebsockify ? websockifyVersion() : "not installed"}.`,
    ``,
    renderMarkdown(cells),
    ``,
    `Each cell: median of ${plan.repeats} interleaved repeats (min–max); memory rows: ${plan.memRepeats} run(s), each on a fresh process.`,
    `All over 127.0.0.1; wss with the same RSA-2048 certificate for every server; novnc-proxy with a fresh signed ticket per session${uncappedFlags().length > 0 ? ` and its session caps lifted (\`${uncappedFlags().join(" ")}\`: every bench session comes from one address)` : ""}.`,
    `Downstream: the target writes ${plan.downBytes / MiB} MiB in 64 KiB writes honouring backpressure; upstream: ${plan.upBytes / MiB} MiB in ${plan.upMessage / 1024} KiB messages until the target acknowledges.`,
    `Server CPU: user + system CPU time of the server process (websockify: its process tree) during the transfer, per MiB moved; steadier than MiB/s on a shared machine. The bare Bun server does no TCP hop, so it is a floor, not a peer.`,
    `Round trip: 16-byte messages echoed by the target, one at a time (${plan.rttCount} after ${plan.rttWarmup} warm-up).`,
    `New sessions: ${plan.setupCount} full set-ups (TCP, TLS, upgrade, ticket check, target connect, one echoed byte), ${plan.setupConcurrency} at a time.`,
    `With --store: the same binary sharing state through a local redis-server (no persistence), its set-up rounds interleaved with the others; the store round trip is the mean of novnc_proxy_store_seconds (the admission script, once per session) from its /metrics.`,
    `Idle sessions: memory growth over the process's no-session baseline divided by open, verified sessions (VmRSS; for websockify, which forks a process per session, PSS summed over its process tree).`,
    `Slow reader: the target floods ${plan.floodBytes / MiB} MiB, the client reads ${plan.floodRateMiBps} MiB/s for ${plan.floodSeconds} s; peak memory sampled every 50 ms minus the baseline.`,
    `The client, the target and each server are separate processes; the machine is shared, so absolute numbers are noisy — compare columns of the same run.`,
    ``,
  ].join("\n");
  writeFileSync(out, md);
  progress(`wrote ${out}`);
  return 0;
}

/** The temp dir with this run's keys, removed on every exit path. */
let keysDir: Keys | null = null;

const onSignal = () => {
  progress("interrupted: stopping child processes");
  void stopAllChildren().finally(() => {
    if (keysDir) removeKeys(keysDir);
    process.exit(130);
  });
};
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);

if (import.meta.main) {
  const code = await main().catch(async (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await stopAllChildren();
    return 1;
  });
  process.exit(code);
}
