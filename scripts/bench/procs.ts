/**
 * Process control for the bench: every child is started here, remembered, and stopped by pid
 * (its own descendants too, e.g. websockify's one-process-per-connection forks, each checked by
 * start time so a recycled pid is never hit). Also reads memory from /proc.
 */
import type { Subprocess } from "bun";
import { readFileSync, readdirSync } from "node:fs";

export interface Child {
  name: string;
  pid: number;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Waits for a line matching `re` on stdout/stderr; throws on exit or timeout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The last few KiB the child printed, for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

const live = new Set<Child>();
const TAIL_CHARS = 4096;
const HEAD_CHARS = 16384;

/** Strips ANSI colour codes (picocolors colours the listening line on a TTY). */
const plain = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Starts a child with piped output that is always drained (a full pipe would stall it). */
export function startChild(name: string, cmd: string[], env: Record<string, string | undefined> = {}): Child {
  const proc = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  let head = "";
  let tail = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      const text = plain(dec.decode(chunk, { stream: true }));
      if (head.length < HEAD_CHARS) head += text;
      tail = (tail + text).slice(-TAIL_CHARS);
    }
  };
  void drain(proc.stdout).catch(() => {});
  void drain(proc.stderr).catch(() => {});
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    tail: () => tail.trim(),
    async waitFor(re, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const m = head.match(re) ?? tail.match(re);
        if (m) return m;
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}): ${tail.trim().slice(-500)}`);
        }
        await Bun.sleep(10);
      }
      throw new Error(`${name}: no ${re} within ${timeoutMs} ms: ${tail.trim().slice(-500)}`);
    },
    async stop() {
      live.delete(child);
      await stopTree(proc);
    },
  };
  live.add(child);
  return child;
}

/** Stops every child still running (on exit, on error, on Ctrl-C). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

interface ProcId {
  pid: number;
  start: string;
}

function statOf(pid: number): { ppid: number; start: string; cpuTicks: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // after "pid (comm) ": fields 3.. of proc(5); utime, stime are fields 14, 15; starttime 22
    return { ppid: Number(fields[1]), start: fields[19]!, cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/** All descendants of `pid` (children, grandchildren...), with start times. */
export function descendants(pid: number): ProcId[] {
  const children = new Map<number, ProcId[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = Number(name);
    const st = statOf(p);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid: p, start: st.start });
    children.set(st.ppid, list);
  }
  const out: ProcId[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c.pid);
    }
  }
  return out;
}

function killIfSame(p: ProcId, signal: NodeJS.Signals): void {
  if (statOf(p.pid)?.start !== p.start) return; // gone, or the pid was reused
  try {
    process.kill(p.pid, signal);
  } catch {
    // already gone
  }
}

async function stopTree(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const kids = descendants(proc.pid);
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await Promise.race([proc.exited, Bun.sleep(2000)]);
  }
  if (kids.length === 0) return;
  for (const k of kids) killIfSame(k, "SIGTERM");
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && kids.some((k) => statOf(k.pid)?.start === k.start)) await Bun.sleep(50);
  for (const k of kids) killIfSame(k, "SIGKILL");
}

function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "latin1"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface Memory {
  kib: number;
  /** Processes counted (websockify forks one per connection). */
  procs: number;
  /** `rss` for one process (VmRSS), `pss` summed over a process tree (RSS would count shared pages n times). */
  measure: "rss" | "pss";
}

/** Resident memory of `pid`, or of its whole tree when it has descendants. */
export function memoryOf(pid: number): Memory {
  const kids = descendants(pid);
  if (kids.length === 0) return { kib: statusKiB(pid, "VmRSS"), procs: 1, measure: "rss" };
  let kib = pssKiB(pid);
  for (const k of kids) kib += pssKiB(k.pid);
  return { kib, procs: kids.length + 1, measure: "pss" };
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) used so far by `pid` and its descendants. */
export function cpuSecondsOf(pid: number): number {
  let ticks = statOf(pid)?.cpuTicks ?? 0;
  for (const k of descendants(pid)) ticks += statOf(k.pid)?.cpuTicks ?? 0;
  return ticks / USER_HZ;
}

/** The peak VmRSS the kernel recorded for one process (VmHWM). */
export function peakRssKiB(pid: number): number {
  return statusKiB(pid, "VmHWM");
}

/** This process's open-file limit (soft, hard) from /proc/self/limits. */
export function openFileLimit(): { soft: number; hard: number } {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "latin1"));
  const num = (v: string | undefined) => (v === undefined || v === "unlimited" ? Infinity : Number(v));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

/** MemAvailable in KiB (the guard that stops a contender from eating the machine). */
export function memAvailableKiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "latin1"));
  return m ? Number(m[1]) : Infinity;
}
