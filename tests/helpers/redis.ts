/**
 * A real redis-server (Debian's) for fleet tests: a free loopback port, no persistence
 * (`--save "" --appendonly no`), stopped by pid. `stop()` + `start()` on the same port is a
 * Redis restarted empty; `freeze()` / `thaw()` are SIGSTOP / SIGCONT.
 */
import type { Socket, Subprocess } from "bun";
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

/**
 * A TCP relay in front of a Redis whose path can be cut: from `cut()` on, every byte either way
 * on the connections of that time is dropped for good (a network partition: unlike SIGSTOP, a
 * command sent meanwhile never reaches Redis, not even later), and connections made while cut
 * are black holes too. Connections made after `heal()` pass.
 */
export interface CuttableLink {
  url: string;
  cut(): void;
  heal(): void;
  stop(): void;
}

export function cuttableLink(redisPort: number): CuttableLink {
  let cut = false;
  type Side = { peer: Socket<Side> | null; lost: boolean; early: Uint8Array[] };
  const clients = new Set<Socket<Side>>();
  const listener = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { peer: null, lost: cut, early: [] };
        clients.add(client);
        const upstream = await Bun.connect<Side>({
          hostname: "127.0.0.1",
          port: redisPort,
          data: { peer: client, lost: false, early: [] },
          socket: {
            data(s, d) {
              if (!client.data.lost) s.data.peer?.write(d);
            },
            close(s) {
              s.data.peer?.end();
            },
          },
        }).catch(() => null);
        if (!upstream) return void client.end();
        client.data.peer = upstream;
        for (const d of client.data.early.splice(0)) if (!client.data.lost) upstream.write(d);
      },
      data(client, d) {
        if (client.data.lost) return;
        if (client.data.peer) client.data.peer.write(d);
        else client.data.early.push(d);
      },
      close(client) {
        clients.delete(client);
        client.data.peer?.end();
      },
    },
  });
  return {
    url: `redis://127.0.0.1:${listener.port}`,
    cut() {
      cut = true;
      for (const c of clients) c.data.lost = true;
    },
    heal() {
      cut = false;
    },
    stop: () => listener.stop(true),
  };
}
