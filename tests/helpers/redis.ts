/**
 * A real redis-server (Debian's) for fleet tests: a free loopback port, no persistence
 * (`--save "" --appendonly no`), stopped by pid. `stop()` + `start()` on the same port is a
 * Redis restarted empty; `freeze()` / `thaw()` are SIGSTOP / SIGCONT.
 */
import type { Subprocess } from "bun";
import { canConnect, freePort } from "./net.ts";

export const REDIS_BINARY = "redis-server";

export interface TestRedis {
  port: number;
  url: string;
  pid(): number;
  /** (Re)starts the server on the same port, empty. */
  start(): Promise<void>;
  /** SIGKILL: gone at once, as after a crash. */
  stop(): Promise<void>;
  freeze(): void;
  thaw(): void;
}

/** `tls`: serve TLS only (rediss://) with this certificate and key (no client certificates asked). */
export async function startRedis(extra: string[] = [], tls?: { cert: string; key: string; ca: string }): Promise<TestRedis> {
  const port = freePort();
  const listen = tls
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key, "--tls-ca-cert-file", tls.ca, "--tls-auth-clients", "no"]
    : ["--port", String(port)];
  let proc: Subprocess | null = null;
  const start = async () => {
    proc = Bun.spawn([REDIS_BINARY, ...listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", ...extra], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
      await Bun.sleep(50);
    }
  };
  await start();
  return {
    port,
    url: `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    pid: () => proc!.pid,
    start,
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      process.kill(proc.pid, "SIGCONT");
      proc.kill("SIGKILL");
      await proc.exited;
    },
    freeze: () => process.kill(proc!.pid, "SIGSTOP"),
    thaw: () => process.kill(proc!.pid, "SIGCONT"),
  };
}
