/**
 * Argument helpers shared by commands: common flags, repeatable flags (citty keeps only the
 * last value), and strict number / listen-address parsing that fails with one clear line.
 */
import type { ArgsDef } from "citty";
import { ConfigError } from "../errors.ts";
import { setLogLevel, type LogLevelName } from "../log.ts";

export const commonArgs = {
  "log-level": {
    type: "string",
    description: "Log level: silent, error, warn, info, debug (env NOVNC_PROXY_LOG_LEVEL)",
    valueHint: "level",
  },
  debug: { type: "boolean", description: "Print stack traces of unexpected errors" },
} as const satisfies ArgsDef;

/** Applies --log-level (validated). */
export function applyLogLevel(value: unknown): void {
  if (value === undefined || value === "") return;
  const v = String(value);
  if (!["silent", "error", "warn", "info", "debug"].includes(v)) {
    throw new ConfigError(`--log-level "${v}": expected silent, error, warn, info or debug`);
  }
  setLogLevel(v as LogLevelName);
}

/** Every value of a repeatable flag, in order: `--allow a --allow b`, `--allow=a`. */
export function repeated(rawArgs: readonly string[], name: string): string[] {
  const out: string[] = [];
  const flag = `--${name}`;
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === flag) {
      const v = rawArgs[i + 1];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`${flag} needs a value`);
      out.push(v);
      i++;
    } else if (a.startsWith(flag + "=")) {
      out.push(a.slice(flag.length + 1));
    }
  }
  return out;
}

/** A whole number within bounds, or a ConfigError naming the flag. */
export function intArg(name: string, value: unknown, def: number, min: number, max: number): number {
  if (value === undefined || value === "" || value === true) return def;
  const s = String(value).trim();
  if (!/^\d+$/.test(s)) throw new ConfigError(`--${name} "${s}": expected a whole number`);
  const n = Number(s);
  if (n < min || n > max) throw new ConfigError(`--${name} ${n}: expected ${min} to ${max}`);
  return n;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4 };

/** A size in bytes, optionally with a binary unit (`512MiB`, `1g`), at least 1; or a ConfigError naming the flag. */
export function byteSizeArg(name: string, value: unknown, def: number): number {
  if (value === undefined || value === "" || value === true) return def;
  const s = String(value).trim();
  const m = /^(\d+)\s*([a-z]*)$/i.exec(s);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`--${name} "${s}": expected a size in bytes, e.g. 1048576, 512MiB or 1GiB`);
  const n = Number(m[1]) * unit;
  if (n < 1 || !Number.isSafeInteger(n)) throw new ConfigError(`--${name} "${s}": out of range`);
  return n;
}

/** `[HOST:]PORT`: "6100", "127.0.0.1:6100", "[::1]:6100", "*:6100" (all addresses). */
export function parseListen(value: string, defaultPort = 6100): { hostname: string; port: number } {
  const v = value.trim();
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):)?(\d{1,5})$/.exec(v);
  if (!m) throw new ConfigError(`--listen "${v}": expected [HOST:]PORT, IPv6 in brackets`);
  const port = Number(m[3] ?? defaultPort);
  if (port > 65535) throw new ConfigError(`--listen "${v}": port out of range`);
  let hostname = m[1] ?? m[2] ?? "";
  if (hostname === "" || hostname === "*") hostname = "0.0.0.0";
  return { hostname, port };
}
