/**
 * Running `serve` as a service: the start-up line, reloads (SIGHUP or a change of the
 * certificate files: settings, certificates and keys read again, live sessions untouched) and
 * the drain on SIGTERM/SIGINT.
 */
import { watch } from "node:fs";
import pc from "picocolors";
import { RuntimeError } from "../errors.ts";
import { logger } from "../log.ts";
import type { CompiledSettings } from "../config/compile.ts";
import { startServer, type RunningServer } from "./https.ts";

/** `https://a (CN of engine.cer), https://b (--engine-origin)`, or "none". */
export function describeEngineOrigins(list: CompiledSettings["engineOrigins"]): string {
  return list.length ? list.map((o) => `${o.origin} (${o.source})`).join(", ") : "none";
}

/** Starts the server and logs the one start-up line; errors binding become RuntimeError. */
export async function runServer(compiled: Pick<CompiledSettings, "server" | "engineOrigins">, warnings: string[] = []): Promise<RunningServer> {
  const config = compiled.server;
  for (const w of warnings) logger.warn(w);
  let running: RunningServer;
  try {
    running = await startServer(config);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${config.hostname}:${config.port}`;
    if (code === "EADDRINUSE") throw new RuntimeError(`cannot listen on ${where}: address in use`);
    if (code === "EACCES") throw new RuntimeError(`cannot listen on ${where}: permission denied`);
    throw new RuntimeError(`cannot listen on ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  logger.info(startupLine(config, running.port, compiled.engineOrigins));
  return running;
}

/** What the start-up line needs of the server config (narrow, so it is tested without a server). */
export interface StartupFacts {
  hostname: string;
  identity: { subject: string; notAfter: Date };
  engineSubject: string | null;
  tlsMin: string;
  allowlist: { describe(): string };
}

/** The one start-up line: where it listens, which certificates, TLS floor, allowlist and engine origins. */
export function startupLine(config: StartupFacts, port: number, engineOrigins: CompiledSettings["engineOrigins"]): string {
  const id = config.identity;
  const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  return (
    `listening on ${pc.bold(`https://${host}:${port}`)}` +
    ` cert="${id.subject}" expires=${id.notAfter.toISOString().slice(0, 10)}` +
    ` engine-cert=${config.engineSubject ? `"${config.engineSubject}"` : "none"}` +
    ` tls>=${config.tlsMin} allow=${config.allowlist.describe()}` +
    ` engine-origins=${describeEngineOrigins(engineOrigins)}`
  );
}

/**
 * SIGHUP or a change of the cert files: read the config files, certificates and keys again and
 * swap them in (the listen address needs a restart); anything bad keeps the current settings
 * (and says why). SIGTERM/SIGINT: drain, then exit 0.
 */
export function handleSignals(running: RunningServer, current: CompiledSettings, recompile: () => CompiledSettings): void {
  const listen = `${current.server.hostname}:${current.server.port}`;
  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = (why: string) => {
    if (stopping) {
      logger.warn(`${why}: ignored, shutting down`);
      return;
    }
    try {
      const next = recompile();
      if (`${next.server.hostname}:${next.server.port}` !== listen) {
        logger.warn(`${why}: the listen address changed; it takes effect on restart`);
      }
      if (JSON.stringify(next.server.store ?? null) !== JSON.stringify(current.server.store ?? null)) {
        logger.warn(`${why}: the store settings changed; they take effect on restart`);
      }
      running.reload({ ...next.server, hostname: current.server.hostname, port: current.server.port });
      const id = next.server.identity;
      logger.info(`${why}: reloaded settings, certificate, key and engine certificate (cert="${id.subject}" expires=${id.notAfter.toISOString().slice(0, 10)})`);
    } catch (err) {
      logger.error(`${why}: reload failed, keeping the current settings: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  };
  process.on("SIGHUP", () => reload("SIGHUP"));
  for (const file of current.watchedFiles) {
    try {
      // Debounced: renames and partial writes fire several events.
      watch(file, { persistent: false }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => reload(`${file} changed`), 500);
      });
    } catch {
      // A file that cannot be watched is still reloaded on SIGHUP.
    }
  }
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    logger.info(`${signal}: draining ${running.sessions()} session(s), up to ${current.drainTimeoutSeconds}s`);
    await running.drain(current.drainTimeoutSeconds * 1000);
    await running.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
