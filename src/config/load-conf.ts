/**
 * Reads oVirt's config layout from disk: FILE, then every `FILE.d/*.conf` in name order, last value
 * wins (as upstream's ConfigFile does), and turns it plus env and flags into serve's arguments.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ArgsDef } from "citty";
import { ConfigError } from "../errors.ts";
import { readInputText } from "../tls/read-file.ts";
import { parseConf, type ConfEntry, type ConfError } from "./ovirt-conf.ts";
import { resolveSettings, type ResolvedSettings } from "./settings.ts";

/** Where engine-setup puts the proxy's config; read when present and no --config is given. */
export const DEFAULT_CONF_FILE = "/etc/ovirt-engine/ovirt-websocket-proxy.conf";

/** The `--config` flag, for serve and check-config. */
export const configArgs = {
  config: {
    type: "string",
    description: `oVirt-style config file, then FILE.d/*.conf in name order (default ${DEFAULT_CONF_FILE} when present; env NOVNC_PROXY_CONFIG)`,
    valueHint: "file",
  },
} as const satisfies ArgsDef;

export interface LoadedConf {
  /** The files actually read, in order. Empty when there was no config at all. */
  files: string[];
  values: Map<string, ConfEntry>;
}

type Kind = "file" | "dir" | "missing";

function kindOf(path: string): Kind {
  try {
    const st = statSync(path);
    return st.isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

function dropIns(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`config ${dir}: ${code === "EACCES" ? "permission denied" : "cannot list"}`);
  }
  return names
    .filter((n) => n.endsWith(".conf") && !n.startsWith("."))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => kindOf(p) === "file");
}

/**
 * Reads FILE and `FILE.d/*.conf`. An explicit `file` must exist (or its `.d` directory must, as on
 * engines where only `conf.d/10-setup.conf` is written); with none, `defaultFile` is read if it or
 * its `.d` exists, else the result is empty. The first syntax error throws ConfigError
 * `FILE:LINE: message` (with a count of further errors).
 */
export function loadConf(file: string | undefined, defaultFile: string = DEFAULT_CONF_FILE): LoadedConf {
  const base = file ?? defaultFile;
  const mainKind = kindOf(base);
  const dirKind = kindOf(`${base}.d`);
  if (mainKind === "dir") throw new ConfigError(`config ${base}: is a directory, expected a file`);
  if (mainKind === "missing" && dirKind !== "dir") {
    if (file === undefined) return { files: [], values: new Map() };
    throw new ConfigError(`config ${base}: no such file`);
  }
  const paths = [...(mainKind === "file" ? [base] : []), ...(dirKind === "dir" ? dropIns(`${base}.d`) : [])];
  const values = new Map<string, ConfEntry>();
  const errors: ConfError[] = [];
  for (const path of paths) {
    const parsed = parseConf(readInputText(path, "config"), path, values);
    errors.push(...parsed.errors);
    for (const [key, entry] of parsed.values) {
      values.delete(key);
      values.set(key, entry);
    }
  }
  const first = errors[0];
  if (first) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
    throw new ConfigError(`${first.file}:${first.line}: ${first.message}${more}`);
  }
  return { files: paths, values };
}

/** The config file named by `--config FILE` / `--config=FILE` (last one wins), else env NOVNC_PROXY_CONFIG. */
export function configFileOf(rawArgs: readonly string[], env: Record<string, string | undefined>): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--config") {
      const v = rawArgs[i + 1];
      if (v === undefined || v.startsWith("--")) throw new ConfigError("--config needs a file");
      found = v;
      i++;
    } else if (a.startsWith("--config=")) {
      found = a.slice("--config=".length);
    }
  }
  if (found === "") throw new ConfigError("--config needs a file");
  return found ?? (env.NOVNC_PROXY_CONFIG || undefined);
}

/**
 * Everything a command needs before its own flag parsing: reads the config files (per `--config`,
 * env NOVNC_PROXY_CONFIG, or the default file) and resolves flag > env > file > default.
 * @returns the resolved settings plus the list of files read.
 */
export function loadSettings(
  defs: ArgsDef,
  rawArgs: readonly string[],
  env: Record<string, string | undefined>,
  defaultFile: string = DEFAULT_CONF_FILE,
): ResolvedSettings & { files: string[] } {
  const conf = loadConf(configFileOf(rawArgs, env), defaultFile);
  return { ...resolveSettings({ defs, rawArgs, env, files: conf.values }), files: conf.files };
}
