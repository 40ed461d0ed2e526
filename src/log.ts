/**
 * Logging. consola's default entry lowers its level under NODE_ENV=test and folds repeated
 * lines, so we build our own instance: the level comes only from flags/env, every line is kept
 * (two sessions' audit lines must never merge). Text on a terminal, JSON lines for collectors.
 */
import { createConsola, type ConsolaInstance, type ConsolaReporter, LogLevels } from "consola/basic";

import type { LogFormat, LogLevelName } from "./log-levels.ts";

export type { LogFormat, LogLevelName };

const LEVELS: Record<LogLevelName, number> = {
  silent: LogLevels.silent,
  error: LogLevels.error,
  warn: LogLevels.warn,
  info: LogLevels.info,
  debug: LogLevels.debug,
};

export function isLogLevel(v: string): v is LogLevelName {
  return v in LEVELS;
}

/** One JSON object per line: time, level, tag, msg, and the event's fields when it has some. */
const jsonReporter: ConsolaReporter = {
  log(obj) {
    const [first, ...rest] = obj.args;
    const line: Record<string, unknown> = {
      time: obj.date.toISOString(),
      level: obj.type,
      ...(obj.tag ? { tag: obj.tag } : {}),
      msg: [first, ...rest].map((a) => (typeof a === "string" ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(" "),
      ...((obj as { fields?: Record<string, unknown> }).fields ?? {}),
    };
    const out = obj.level <= LogLevels.warn ? process.stderr : process.stdout;
    out.write(JSON.stringify(line) + "\n");
  },
};

const envLevel = process.env.NOVNC_PROXY_LOG_LEVEL;

export const logger: ConsolaInstance = createConsola({
  level: envLevel && isLogLevel(envLevel) ? LEVELS[envLevel] : LogLevels.info,
  formatOptions: { date: false, colors: false, compact: true },
  throttle: 0,
});

const textReporters = [...logger.options.reporters];
let format: LogFormat = "text";
/** Every tagged logger, so level and format changes reach them (withTag copies options). */
const taggedLoggers = new Map<string, ConsolaInstance>();

export function setLogLevel(level: LogLevelName): void {
  logger.level = LEVELS[level];
  for (const l of taggedLoggers.values()) l.level = LEVELS[level];
}

export function setLogFormat(f: LogFormat): void {
  format = f;
  const reporters = f === "json" ? [jsonReporter] : textReporters;
  logger.setReporters(reporters);
  for (const l of taggedLoggers.values()) l.setReporters(reporters);
}

/** A logger whose lines are prefixed with an area, e.g. `[relay]`. */
export function tagged(area: string): ConsolaInstance {
  let l = taggedLoggers.get(area);
  if (!l) {
    l = logger.withTag(area);
    taggedLoggers.set(area, l);
  }
  return l;
}

/**
 * An event with structured fields (the session audit line): in text the message alone (it
 * already says the fields as key=value), in JSON the fields as their own keys.
 */
export function logEvent(l: ConsolaInstance, level: "info" | "warn", message: string, fields: Record<string, unknown>): void {
  if (format === "json") l[level]({ message, fields });
  else l[level](message);
}
