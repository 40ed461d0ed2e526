/**
 * Logging. consola's default entry lowers its level under NODE_ENV=test and folds repeated
 * lines, so we build our own instance: the level comes only from flags/env, every line is kept.
 */
import { createConsola, type ConsolaInstance, LogLevels } from "consola/basic";
import { createHash } from "node:crypto";

export type LogLevelName = "silent" | "error" | "warn" | "info" | "debug";

const LEVELS: Record<LogLevelName, number> = {
  silent: LogLevels.silent,
  error: LogLevels.error,
  warn: LogLevels.warn,
  info: LogLevels.info,
  debug: LogLevels.debug,
};

export const logger: ConsolaInstance = createConsola({
  level: LEVELS[(process.env.NOVNC_PROXY_LOG_LEVEL as LogLevelName) ?? "info"] ?? LogLevels.info,
  formatOptions: { date: true, colors: false, compact: true },
  throttle: 0,
});

export function setLogLevel(level: LogLevelName): void {
  logger.level = LEVELS[level];
}

/** A logger whose lines are prefixed with an area, e.g. `[relay]`. */
export function tagged(area: string): ConsolaInstance {
  return logger.withTag(area);
}

/**
 * A short, stable, non-reversible name for a ticket (or cookie) so log lines can be correlated
 * without ever containing the secret itself.
 */
export function ticketHash(ticket: string): string {
  return createHash("sha256").update(ticket).digest("hex").slice(0, 12);
}
