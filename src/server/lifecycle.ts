/**
 * Running `serve` as a service: the start-up line, reloads (SIGHUP or a change of the
 * certificate files: settings, certificates and keys read again, live sessions untouched) and
 * the drain on SIGTERM/SIGINT.
 */
import { watch } from "node:fs";
import pc from "picocolors";
import { RuntimeError } from "../errors.ts";
import { logger } from "../log.ts";
import type { ServerConfig } from "./config.ts";
import type { ServeOptions } from "./options.ts";
import { startServer, type RunningServer } from "./https.ts";
import { loadServeConfig } from "./load-config.ts";

/** Starts the server and logs the one start-up line; errors binding become RuntimeError. */
export async function runServer(config: ServerConfig, warnings: string[] = []): Promise<RunningServer> {
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
  const id = config.identity;
  logger.info(
    `listening on ${pc.bold(`https://${config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname}:${running.port}`)}` +
      ` cert="${id.subject}" expires=${id.notAfter.toISOString().slice(0, 10)}` +
      ` engine-cert=${config.engineSubject ? `"${config.engineSubject}"` : "none"}` +
      ` tls>=${config.tlsMin} allow=${config.allowlist.describe()}`,
  );
  return running;
}

/** Files whose change triggers a reload (certificate, key, keystore, engine certificate). */
function watchedFiles(o: ServeOptions): string[] {
  const files = [o.engineCertFile];
  if (o.tls.kind === "pem") files.push(o.tls.certFile, o.tls.keyFile);
  if (o.tls.kind === "keystore") files.push(o.tls.file);
  return files.filter((f): f is string => Boolean(f));
}

/**
 * SIGHUP or a change of the cert files: read the config files, certificates and keys again and
 * swap them in (the listen address needs a restart); anything bad keeps the current settings
 * (and says why). SIGTERM/SIGINT: drain, then exit 0.
 */
export function handleSignals(running: RunningServer, options: ServeOptions, reread: () => ServeOptions): void {
  let stopping = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = (why: string) => {
    if (stopping) {
      logger.warn(`${why}: ignored, shutting down`);
      return;
    }
    try {
      const next = reread();
      if (next.hostname !== options.hostname || next.port !== options.port) {
        logger.warn(`${why}: the listen address changed; it takes effect on restart`);
      }
      const { config } = loadServeConfig({ ...next, hostname: options.hostname, port: options.port });
      running.reload(config);
      logger.info(`${why}: reloaded settings, certificate, key and engine certificate (cert="${config.identity.subject}" expires=${config.identity.notAfter.toISOString().slice(0, 10)})`);
    } catch (err) {
      logger.error(`${why}: reload failed, keeping the current settings: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    }
  };
  process.on("SIGHUP", () => reload("SIGHUP"));
  for (const file of watchedFiles(options)) {
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
    logger.info(`${signal}: draining ${running.sessions()} session(s), up to ${options.drainTimeoutSeconds}s`);
    await running.drain(options.drainTimeoutSeconds * 1000);
    await running.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
