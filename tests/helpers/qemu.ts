/**
 * Starts a real QEMU with a VNC server for integration tests, the way an oVirt host runs it:
 * VNC on 127.0.0.1 with `password=on` (optionally VeNCrypt x509 via tls-creds), the password set
 * over QMP with `set_password` + `expire_password` as vdsm/libvirt do. No disk, no NIC: SeaBIOS
 * draws its text screen, which is a real, non-uniform picture. `stop()` kills the process by pid.
 */
import type { Socket, Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface QemuOptions {
  /** Set over QMP once QEMU is up (VNC auth fails until a password is set). */
  password?: string;
  /** Directory with ca-cert.pem, server-cert.pem, server-key.pem: enables VeNCrypt x509. */
  tlsDir?: string;
  /** With tlsDir: require a client certificate (QEMU verify-peer=on). Default false. */
  verifyPeer?: boolean;
  /** More QEMU arguments, e.g. `-boot menu=on` for a guest screen that reacts to a key. */
  extraArgs?: string[];
  /** Milliseconds to wait for the VNC port. Default 20000. */
  startTimeoutMs?: number;
}

export interface Qemu {
  /** TCP port of the VNC server on 127.0.0.1 (5900 + display). */
  port: number;
  pid: number;
  /** Runs a QMP command; resolves with its `return`, rejects with its `error.desc`. */
  qmp(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** set_password for VNC, then expire_password (`+seconds`, or never). */
  setPassword(password: string, validSeconds?: number): Promise<void>;
  stop(): Promise<void>;
}

export const QEMU_BINARY = "qemu-system-x86_64";

/** Whether a TCP port on 127.0.0.1 is free right now (a listener can bind it). */
function portIsFree(port: number): boolean {
  try {
    const l = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    l.stop(true);
    return true;
  } catch {
    return false;
  }
}

/** A free VNC display number in 100..1023 (ports 6000-6923, inside oVirt's default range). */
/** Displays handed to a QEMU of this process, so two started at once never pick the same port. */
const reserved = new Set<number>();

function freeDisplay(exclude: Set<number>): number {
  const start = 100 + Math.floor(Math.random() * 900);
  for (let i = 0; i < 924; i++) {
    const n = 100 + ((start - 100 + i) % 924);
    if (!exclude.has(n) && !reserved.has(n) && portIsFree(5900 + n)) {
      reserved.add(n);
      return n;
    }
  }
  throw new Error("no free VNC display number");
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** A line-oriented QMP connection over the unix socket. */
class QmpClient {
  private buf = "";
  private lines: string[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private socket: Socket<undefined> | null) {}

  static async connect(path: string): Promise<QmpClient> {
    const client = new QmpClient(null);
    client.socket = await Bun.connect({
      unix: path,
      socket: {
        data(_s, chunk) {
          client.buf += new TextDecoder().decode(chunk);
          let i: number;
          while ((i = client.buf.indexOf("\n")) >= 0) {
            const line = client.buf.slice(0, i).trim();
            client.buf = client.buf.slice(i + 1);
            if (line) client.lines.push(line);
          }
          client.waiter?.();
        },
        close() {
          client.closed = true;
          client.waiter?.();
        },
        error() {},
      },
    });
    const greeting = await client.nextMessage();
    if (!("QMP" in greeting)) throw new Error("QMP greeting missing");
    await client.execute("qmp_capabilities");
    return client;
  }

  private async nextMessage(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
      if (this.closed) throw new Error("QMP connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("QMP reply timed out");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  /** One command at a time; events in between are skipped. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const run = async () => {
      const msg = args ? { execute: command, arguments: args } : { execute: command };
      this.socket!.write(JSON.stringify(msg) + "\n");
      for (;;) {
        const reply = await this.nextMessage();
        if ("return" in reply) return reply.return;
        if ("error" in reply) {
          const err = reply.error as { class?: string; desc?: string };
          throw new Error(`QMP ${command}: ${err.desc ?? err.class ?? "error"}`);
        }
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  close(): void {
    this.socket?.end();
  }
}

async function waitExit(proc: Subprocess, ms: number): Promise<boolean> {
  const timeout = new Promise<false>((r) => setTimeout(() => r(false), ms));
  return Promise.race([proc.exited.then(() => true as const), timeout]);
}

/** Starts QEMU on a free display; retries a few times when another process takes the port first. */
export async function startQemu(opts: QemuOptions = {}): Promise<Qemu> {
  const tried = new Set<number>();
  let lastError = "";
  for (let attempt = 0; attempt < 4; attempt++) {
    const display = freeDisplay(tried);
    tried.add(display);
    const dir = mkdtempSync(join(tmpdir(), "novnc-proxy-qemu-"));
    const qmpPath = join(dir, "qmp.sock");
    const vnc = `127.0.0.1:${display},password=on${opts.tlsDir ? ",tls-creds=tls0" : ""}`;
    const args = [
      QEMU_BINARY,
      "-nodefaults",
      "-machine",
      "accel=kvm:tcg",
      "-m",
      "64",
      "-vga",
      "std",
      "-display",
      "none",
      "-vnc",
      vnc,
      "-qmp",
      `unix:${qmpPath},server=on,wait=off`,
    ];
    args.push(...(opts.extraArgs ?? []));
    if (opts.tlsDir) {
      args.push(
        "-object",
        `tls-creds-x509,id=tls0,dir=${opts.tlsDir},endpoint=server,verify-peer=${opts.verifyPeer ? "on" : "off"}`,
      );
    }
    const proc = Bun.spawn(args, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const port = 5900 + display;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    let up = false;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await canConnect(port)) {
        up = true;
        break;
      }
      await Bun.sleep(50);
    }
    if (!up) {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
      lastError = (await new Response(proc.stderr).text()).trim().split("\n").slice(-3).join(" | ");
      rmSync(dir, { recursive: true, force: true });
      reserved.delete(display);
      if (/in use|bind/i.test(lastError)) continue;
      throw new Error(`QEMU did not start: ${lastError || `exit ${proc.exitCode}`}`);
    }

    let qmpClient: QmpClient;
    try {
      qmpClient = await QmpClient.connect(qmpPath);
    } catch (e) {
      // Another program may have owned that port (our QEMU then failed to bind and exited).
      const exitedEarly = proc.exitCode !== null;
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
      if (exitedEarly) {
        lastError = (await new Response(proc.stderr).text()).trim().split("\n").slice(-3).join(" | ");
        if (/in use|bind/i.test(lastError)) continue;
      }
      reserved.delete(display);
      throw e;
    }
    const qemu: Qemu = {
      port,
      pid: proc.pid,
      qmp: (command, a) => qmpClient.execute(command, a),
      async setPassword(password, validSeconds) {
        await qmpClient.execute("set_password", { protocol: "vnc", password });
        await qmpClient.execute("expire_password", {
          protocol: "vnc",
          time: validSeconds === undefined ? "never" : `+${validSeconds}`,
        });
      },
      async stop() {
        qmpClient.close();
        if (proc.exitCode === null) {
          process.kill(proc.pid, "SIGTERM");
          if (!(await waitExit(proc, 5000))) {
            process.kill(proc.pid, "SIGKILL");
            await proc.exited;
          }
        }
        rmSync(dir, { recursive: true, force: true });
        reserved.delete(display);
      },
    };
    if (opts.password !== undefined) await qemu.setPassword(opts.password);
    return qemu;
  }
  throw new Error(`QEMU could not bind a VNC port: ${lastError}`);
}
