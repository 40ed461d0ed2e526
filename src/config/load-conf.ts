/**
 * Reads oVirt's config layout from disk: FILE, then every `FILE.d/*.conf` in name order, last value
 * wins (as upstream's ConfigFile does), and merges it with env and flags into typed settings.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { readInputText } from "../tls/read-file.ts";
import { parseArgv, type FlagValues } from "./argv.ts";
import { mergeSettings, type Merged } from "./merge.ts";
import { parseConf, type ConfEntry, type ConfError } from "./ovirt-conf.ts";
import { DEFAULT_CONF_FILE, type SettingsTable } from "./schema.ts";

export { DEFAULT_CONF_FILE };

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
  const { files, values, errors } = readConfLayers(file, defaultFile);
  const first = errors[0];
  if (first) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? "s" : ""})` : "";
    throw new ConfigError(`${first.file}:${first.line}: ${first.message}${more}`);
  }
  return { files, values };
}

/** Like loadConf, but lines that cannot be read are returned as errors instead of thrown. */
export function readConfLayers(file: string | undefined, defaultFile: string): LoadedConf & { errors: ConfError[] } {
  const base = file ?? defaultFile;
  const mainKind = kindOf(base);
  const dirKind = kindOf(`${base}.d`);
  if (mainKind === "dir") throw new ConfigError(`config ${base}: is a directory, expected a file`);
  if (mainKind === "missing" && dirKind !== "dir") {
    if (file === undefined) return { files: [], values: new Map(), errors: [] };
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
  return { files: paths, values, errors };
}

/**
 * Everything a command needs before compiling: its flags read strictly, the config files (per
 * `--config`, env NOVNC_PROXY_CONFIG, or the default file) read, and flag > env > file > default
 * merged into typed values. Tables without a `config` setting read no files.
 */
export function readSettings<T extends SettingsTable>(
  table: T,
  rawArgs: readonly string[],
  env: Record<string, string | undefined>,
  defaultFile: string = DEFAULT_CONF_FILE,
): Merged<T> & { confBase: string | null } {
  return mergeWithConf(table, parseArgv(table, rawArgs), env, defaultFile);
}

/**
 * readSettings for flags already read (`sessions`, whose positionals citty parses): the same
 * config files, the same merge.
 */
export function mergeWithConf<T extends SettingsTable>(
  table: T,
  flags: FlagValues,
  env: Record<string, string | undefined>,
  defaultFile: string = DEFAULT_CONF_FILE,
): Merged<T> & { confBase: string | null } {
  if (!("config" in table)) return { ...mergeSettings({ table, flags, env }), confBase: null };
  const given = flags.get("config")?.[0] ?? (env.NOVNC_PROXY_CONFIG || undefined);
  if (given === "") throw new ConfigError("--config needs a file");
  const conf = loadConf(given, defaultFile);
  return { ...mergeSettings({ table, flags, env, conf: conf.values, files: conf.files }), confBase: conf.files.length ? (given ?? defaultFile) : null };
}
