/**
 * Merges the three places a setting can come from — flags, `NOVNC_PROXY_*` environment
 * variables, config-file keys (ours and oVirt's) — into one typed object, flag > env > file >
 * default, keeping where each value came from. Every value goes through its setting's parser
 * here, so a bad one stops with one line naming its flag, variable or FILE:LINE. Pure.
 */
import { ConfigError } from "../errors.ts";
import type { FlagValues } from "./argv.ts";
import { isTrue, type ConfEntry } from "./ovirt-conf.ts";
import { envNameOf, SETTINGS, type SettingDef, type SettingsTable, type ValuesOf } from "./schema.ts";
import { BadValue, closest, parseBooleanWord, shownValue } from "./values.ts";

export interface Merged<T extends SettingsTable> {
  values: ValuesOf<T>;
  /** Per setting: "flag", "env NAME", "FILE:LINE" (several joined by ", ") or "default". */
  sources: Record<keyof T & string, string>;
  /** Per setting, the text it was given (before parsing), for check-config; undefined = default. */
  texts: Record<keyof T & string, string[] | undefined>;
  warnings: string[];
  /** The config files read, in order. */
  files: string[];
}

export interface MergeInput<T extends SettingsTable> {
  table: T;
  flags: FlagValues;
  env: Record<string, string | undefined>;
  /** Config values (`loadConf(...).values`), last value per key. */
  conf?: ReadonlyMap<string, ConfEntry>;
  files?: string[];
}

/** oVirt keys that mean nothing here and are accepted without a word (engine-setup writes them). */
const IGNORED_OVIRT_KEYS = new Set(["FORCE_DATA_VERIFICATION", "ENGINE_USR", "TRACE_FILE"]);

/** TLS sources that exclude each other: a higher layer naming one drops the others' lower values. */
const TLS_GROUPS: { primary: string; members: string[] }[] = [
  { primary: "cert", members: ["cert", "key"] },
  { primary: "keystore", members: ["keystore", "password", "password-file", "alias"] },
  { primary: "self-signed", members: ["self-signed"] },
];

interface Layer {
  rank: number;
  source: string;
  /** Texts as given: flag values, or one env/file value still to split. */
  texts: string[];
  /** How an error names the value: `--x`, `env NAME`, `FILE:LINE: KEY`. */
  where: string;
  fromFlag: boolean;
}

const PREFIX = "NOVNC_PROXY_";

/** Every `NOVNC_PROXY_*` name a setting answers to, for telling typos from settings. */
const ALL_ENV_NAMES = Object.keys(SETTINGS).map(envNameOf);

/** Merges flags, env and config values over `table`'s defaults. Throws ConfigError on the first bad value. */
export function mergeSettings<T extends SettingsTable>(input: MergeInput<T>): Merged<T> {
  const { table, flags, env } = input;
  const names = Object.keys(table);
  const warnings: string[] = [];
  const fromFile = fileLayers(table, input.conf ?? new Map(), warnings);

  // A command's own settings (sessions' --json, demo's --open) are read from env too: not typos.
  const envNames = [...new Set([...ALL_ENV_NAMES, ...names.map(envNameOf)])];
  for (const key of Object.keys(env).sort()) {
    if (key.startsWith(PREFIX) && !envNames.includes(key) && env[key] !== undefined) {
      const hint = closest(key, envNames);
      warnings.push(`env ${key}: not a novnc-proxy setting, ignored${hint ? ` (did you mean ${hint}?)` : ""}`);
    }
  }

  const chosen = new Map<string, Layer>();
  for (const name of names) {
    const given = flags.get(name);
    if (given) {
      chosen.set(name, { rank: 3, source: "flag", texts: given, where: `--${name}`, fromFlag: true });
      continue;
    }
    const envName = envNameOf(name);
    const envValue = env[envName];
    if (envValue !== undefined && envValue !== "") {
      chosen.set(name, { rank: 2, source: `env ${envName}`, texts: [envValue], where: `env ${envName}`, fromFlag: false });
      continue;
    }
    const file = fromFile.get(name);
    if (file) chosen.set(name, file);
  }

  // `--keystore` on the command line must beat SSL_CERTIFICATE from 10-setup.conf, not clash with it.
  const top = Math.max(0, ...TLS_GROUPS.map((g) => chosen.get(g.primary)?.rank ?? 0));
  for (const g of TLS_GROUPS) {
    if (top === 0 || (chosen.get(g.primary)?.rank ?? 0) === top) continue;
    for (const m of g.members) if ((chosen.get(m)?.rank ?? 0) < top) chosen.delete(m);
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const texts: Record<string, string[] | undefined> = {};
  for (const name of names) {
    const def = table[name]!;
    const layer = chosen.get(name);
    sources[name] = layer?.source ?? "default";
    if (!layer) {
      values[name] = defaultValue(def, name);
      texts[name] = undefined;
      continue;
    }
    const items = layer.fromFlag ? layer.texts : def.repeatable ? splitList(layer.texts[0]!) : layer.texts;
    texts[name] = items;
    const parsed = items.map((t) => parseOne(def, t, layer));
    values[name] = def.repeatable ? parsed : parsed[0];
  }
  return {
    values: values as ValuesOf<T>,
    sources: sources as Merged<T>["sources"],
    texts: texts as Merged<T>["texts"],
    warnings,
    files: input.files ?? [],
  };
}

/** The typed default of a setting. */
function defaultValue(def: SettingDef, name: string): unknown {
  if (def.kind === "boolean") return def.default === "true";
  if (def.repeatable) return [];
  if (def.default === undefined) return undefined;
  return parseOne(def, def.default, { rank: 0, source: "default", texts: [], where: `default of --${name}`, fromFlag: true });
}

/** One text through its setting's parser; an empty value means "not set" (oVirt's empty SSL_KEY). */
function parseOne(def: SettingDef, text: string, layer: Layer): unknown {
  try {
    if (def.kind === "boolean") return def.parse(layer.fromFlag ? text : String(parseBooleanWord(text)));
    if (text === "" && !def.repeatable) return undefined;
    return def.parse(text);
  } catch (err) {
    if (!(err instanceof BadValue)) throw err;
    const shown = def.secret ? "" : ` "${shownValue(def.shown ? def.shown(text) : text)}"`;
    throw new ConfigError(`${layer.where}${shown}: ${err.message}`);
  }
}

/**
 * A list from one env/file value: items separated by spaces or commas, except that a bare port
 * or port range after a comma continues the previous item (`10.0.0.0/8:5900,5901`).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  for (const word of value.split(/\s+/)) {
    for (const piece of word.split(",")) {
      if (piece === "") continue;
      if (/^\d+(-\d+)?$/.test(piece) && out.length > 0 && out[out.length - 1]!.includes(":")) out[out.length - 1] += `,${piece}`;
      else out.push(piece);
    }
  }
  return out;
}

const at = (e: ConfEntry): string => `${e.file}:${e.line}`;

/**
 * Config keys -> one layer per setting. Our NOVNC_PROXY_* key beats the oVirt key for the same
 * setting; an unknown NOVNC_PROXY_* key is a typo in our own namespace (error), an unknown oVirt
 * key a warning (engine-setup writes keys we do not use).
 */
function fileLayers(table: SettingsTable, conf: ReadonlyMap<string, ConfEntry>, warnings: string[]): Map<string, Layer> {
  const get = (k: string): ConfEntry | undefined => {
    const e = conf.get(k);
    return e && e.value !== "" ? e : undefined;
  };
  const ownKeys = Object.entries(SETTINGS)
    .filter(([, d]) => !("notInFiles" in d && d.notInFiles))
    .map(([n]) => envNameOf(n));
  const ovirtKeys = new Set(Object.values(SETTINGS).flatMap((d) => ("ovirt" in d && d.ovirt ? [...d.ovirt.keys] : [])));
  const own = new Map<string, Layer>();
  for (const [key, entry] of conf) {
    if (key.startsWith(PREFIX)) {
      if (ALL_ENV_NAMES.includes(key) && !ownKeys.includes(key)) throw new ConfigError(`${at(entry)}: ${key} cannot be set in a config file (flag or env only)`);
      if (!ownKeys.includes(key)) {
        const hint = closest(key, ownKeys);
        throw new ConfigError(`${at(entry)}: unknown key ${key}${hint ? ` (did you mean ${hint}?)` : ""}`);
      }
      const name = key.slice(PREFIX.length).toLowerCase().replace(/_/g, "-");
      if (entry.value !== "" && name in table) own.set(name, { rank: 1, source: at(entry), texts: [entry.value], where: `${at(entry)}: ${key}`, fromFlag: false });
    } else if (!ovirtKeys.has(key) && !IGNORED_OVIRT_KEYS.has(key) && !["SSL_ONLY", "TRACE_ENABLE"].includes(key) && !key.startsWith("PACKAGE_")) {
      warnings.push(`${at(entry)}: unknown key ${key}, ignored`);
    }
  }

  const ovirt = new Map<string, Layer>();
  for (const [name, def] of Object.entries(table)) {
    const v = def.ovirt?.read(get);
    if (v) ovirt.set(name, { rank: 1, source: v.at, texts: [v.text], where: `${v.at}: ${v.key}`, fromFlag: false });
  }
  const sslOnly = get("SSL_ONLY");
  if (sslOnly && !isTrue(sslOnly.value)) {
    warnings.push(`${at(sslOnly)}: SSL_ONLY=${shownValue(sslOnly.value)}: plaintext is not supported; serving TLS only`);
  }
  const trace = get("TRACE_ENABLE");
  if (trace && isTrue(trace.value)) {
    warnings.push(`${at(trace)}: TRACE_ENABLE: upstream's Python trace has no equivalent; ignored (to record sessions use NOVNC_PROXY_RECORD=DIR)`);
  }
  // Our own TLS source in a file (a drop-in next to 10-setup.conf) replaces oVirt's
  // SSL_CERTIFICATE/SSL_KEY pair instead of clashing or half-mixing with it.
  if (["cert", "keystore", "self-signed"].some((n) => own.has(n))) {
    ovirt.delete("cert");
    ovirt.delete("key");
  }
  const out = new Map<string, Layer>();
  for (const name of Object.keys(table)) {
    const l = own.get(name) ?? ovirt.get(name);
    if (l) out.set(name, l);
  }
  return out;
}
