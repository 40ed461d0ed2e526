/**
 * Runs the compiled binary (dist/novnc-proxy, built by `npm test` before bun test) as a real
 * process on 127.0.0.1, and stops it by pid.
 */
import type { Subprocess } from "bun";
import { signTicket, type SignTicketOptions } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "./engine-keys.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const BINARY = `${ROOT}dist/novnc-proxy`;

export interface ProxyProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  port: number;
  url: string;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Waits until the output matches, or throws after timeoutMs. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number>;
}

/** Collects a stream's text into `sink` as it arrives. */
async function drain(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) sink.text += dec.decode(chunk, { stream: true });
}

/** Starts `novnc-proxy <args>` and waits for its "listening on" line. */
export async function startProxy(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ProxyProcess> {
  const proc = Bun.spawn([BINARY, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NODE_ENV: "production", NOVNC_PROXY_LOG_LEVEL: "info", ...opts.env },
  });
  const sink = { text: "" };
  void drain(proc.stdout, sink);
  void drain(proc.stderr, sink);
  const waitFor = async (re: RegExp, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = sink.text.match(re);
      if (m) return m;
      if (proc.exitCode !== null) throw new Error(`proxy exited ${proc.exitCode}: ${sink.text}`);
      await Bun.sleep(20);
    }
    throw new Error(`timed out waiting for ${re}: ${sink.text}`);
  };
  let port = 0;
  try {
    const m = await waitFor(/listening on \S*https:\/\/\S+:(\d+)/, opts.timeoutMs ?? 15_000);
    port = Number(m[1]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return {
    proc,
    pid: proc.pid,
    port,
    url: `https://127.0.0.1:${port}`,
    output: () => sink.text,
    waitFor,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs the binary to completion: exit code and output, for CLI error tests. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BINARY, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NODE_ENV: "production", ...env },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The two key pairs a proxy test needs: the engine's (signs tickets) and the proxy's TLS pair. */
export interface ProxyKeys {
  engine: EngineKeys;
  tls: EngineKeys;
}

export function makeProxyKeys(): ProxyKeys {
  return { engine: makeEngineKeys("engine.test"), tls: makeEngineKeys("proxy.test") };
}

export function removeProxyKeys(keys: ProxyKeys | undefined): void {
  if (!keys) return;
  removeEngineKeys(keys.engine);
  removeEngineKeys(keys.tls);
}

/** `serve` on 127.0.0.1 port 0 with the TLS pair and the engine certificate, then `extra` (--allow...). */
export function serveArgs(keys: ProxyKeys, ...extra: string[]): string[] {
  return ["serve", "--listen", "127.0.0.1:0", "--cert", keys.tls.certFile, "--key", keys.tls.keyFile, "--engine-cert", keys.engine.certFile, ...extra];
}

/** A ticket the engine key signs for host:port (127.0.0.1 unless given). */
export function engineTicket(engine: EngineKeys, port: number, opts: Partial<Omit<SignTicketOptions, "keyPem" | "certPem" | "port">> = {}): string {
  return signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "127.0.0.1", port, ...opts });
}
