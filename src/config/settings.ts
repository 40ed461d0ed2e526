/**
 * Merges the three places a serve setting can come from — flags, `NOVNC_PROXY_*` environment
 * variables, config-file keys (oVirt's own and ours) — into the citty `args` + `rawArgs` pair that
 * `parseServeArgs` already takes, recording where each effective value came from. Pure.
 */
import { parseArgs, type ArgsDef } from "citty";
import { ConfigError } from "../errors.ts";
import { isBooleanWord, isTrue, type ConfEntry } from "./ovirt-conf.ts";

export interface ResolvedSettings {
  /** As citty would have parsed `rawArgs`. */
  args: Record<string, unknown>;
  /** The command line plus `--flag=value` for every value taken from env or files. */
  rawArgs: string[];
  /** Per flag: "flag", "env NAME", "FILE:LINE" (several joined by ", ") or "default". */
  sources: Record<string, string>;
  warnings: string[];
}

export interface SettingsInput {
  /** The command's citty arg definitions (e.g. `serveArgs` plus `config`). */
  defs: ArgsDef;
  /** The command line after the sub-command name. */
  rawArgs: readonly string[];
  env: Record<string, string | undefined>;
  /** Merged config values (`loadConf(...).values`). */
  files: ReadonlyMap<string, ConfEntry>;
  /** Flags that may be given several times; default: those whose description says "repeatable". */
  repeatable?: readonly string[];
}

/** `engine-cert` -> `NOVNC_PROXY_ENGINE_CERT`: the env variable and our config key for a flag. */
export function envNameOf(flag: string): string {
  return `NOVNC_PROXY_${flag.toUpperCase().replace(/-/g, "_")}`;
}

/** oVirt keys read for the same meaning upstream gives them. */
const OVIRT_KEYS = new Set([
  "PROXY_HOST",
  "PROXY_PORT",
  "SOURCE_IS_IPV6",
  "SSL_CERTIFICATE",
  "SSL_KEY",
  "SSL_MIN_VERSION",
  "SSL_CIPHERS",
  "CERT_FOR_DATA_VERIFICATION",
  "SSL_ONLY",
  "TRACE_ENABLE",
  "TRACE_FILE",
]);
/** oVirt keys that have no meaning for us and are silently accepted. */
const IGNORED_KEYS = new Set(["FORCE_DATA_VERIFICATION", "ENGINE_USR"]);

/** Flags that only make sense on the command line or in env, not in a config file. */
const NOT_IN_FILES = new Set(["config", "help"]);

/** TLS sources that exclude each other: a higher layer naming one drops the others' lower values. */
const TLS_GROUPS: { primary: string; members: string[] }[] = [
  { primary: "cert", members: ["cert", "key"] },
  { primary: "keystore", members: ["keystore", "password", "password-file", "alias"] },
  { primary: "self-signed", members: ["self-signed"] },
];

interface Candidate {
  value: string;
  at: string;
}

const at = (e: ConfEntry): string => `${e.file}:${e.line}`;

/**
 * Resolves every flag in `defs` with precedence flag > env > file > default.
 * Throws ConfigError (naming FILE:LINE) for an oVirt value that cannot be mapped.
 */
export function resolveSettings(input: SettingsInput): ResolvedSettings {
  const { defs, rawArgs, env, files } = input;
  const names = Object.keys(defs);
  const repeatable = new Set(
    input.repeatable ?? names.filter((n) => /\brepeatable\b/i.test(String((defs[n] as { description?: string }).description ?? ""))),
  );
  const isBool = (n: string): boolean => (defs[n] as { type?: string }).type === "boolean";
  const warnings: string[] = [];
  const fromFile = mapFileValues(files, new Set(names), warnings);

  const onCommandLine = new Set<string>();
  for (const a of rawArgs) {
    const m = /^--(?:no-)?([^=]+)/.exec(a);
    if (m && names.includes(m[1]!)) onCommandLine.add(m[1]!);
  }

  type Layer = { rank: number; source: string; value?: string };
  const chosen = new Map<string, Layer>();
  for (const name of names) {
    if (onCommandLine.has(name)) {
      chosen.set(name, { rank: 3, source: "flag" });
      continue;
    }
    const envName = envNameOf(name);
    const envValue = env[envName];
    if (envValue !== undefined && envValue !== "") {
      chosen.set(name, { rank: 2, source: `env ${envName}`, value: envValue });
      continue;
    }
    const file = fromFile.get(name);
    if (file) chosen.set(name, { rank: 1, source: file.at, value: file.value });
  }

  // `--keystore` on the command line must beat SSL_CERTIFICATE from 10-setup.conf, not clash with it.
  const top = Math.max(0, ...TLS_GROUPS.map((g) => chosen.get(g.primary)?.rank ?? 0));
  if (top > 0) {
    for (const g of TLS_GROUPS) {
      if ((chosen.get(g.primary)?.rank ?? 0) === top) continue;
      for (const m of g.members) {
        const layer = chosen.get(m);
        if (layer && layer.rank < top) chosen.delete(m);
      }
    }
  }

  const extra: string[] = [];
  const sources: Record<string, string> = {};
  for (const name of names) {
    const layer = chosen.get(name);
    sources[name] = layer?.source ?? "default";
    if (!layer || layer.value === undefined) continue;
    if (isBool(name)) {
      if (!isBooleanWord(layer.value)) warnings.push(`${layer.source}: ${name} "${layer.value}" is not a boolean (true/false); taken as false`);
      if (isTrue(layer.value)) extra.push(`--${name}`);
      else if ((defs[name] as { default?: unknown }).default === true) extra.push(`--${name}=false`);
    } else if (repeatable.has(name)) {
      for (const item of splitList(layer.value)) extra.push(`--${name}=${item}`);
    } else {
      extra.push(`--${name}=${layer.value}`);
    }
  }
  const merged = [...rawArgs, ...extra];
  return { args: parseArgs(merged, defs) as Record<string, unknown>, rawArgs: merged, sources, warnings };
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

/** Config keys -> per-flag candidates. Our NOVNC_PROXY_* key beats the oVirt key for the same flag. */
function mapFileValues(files: ReadonlyMap<string, ConfEntry>, flags: Set<string>, warnings: string[]): Map<string, Candidate> {
  const own = new Map<string, Candidate>();
  const ovirt = new Map<string, Candidate>();
  const get = (k: string): ConfEntry | undefined => {
    const e = files.get(k);
    return e && e.value !== "" ? e : undefined;
  };

  for (const [key, entry] of files) {
    if (key.startsWith("NOVNC_PROXY_")) {
      const flag = key.slice("NOVNC_PROXY_".length).toLowerCase().replace(/_/g, "-");
      if (!flags.has(flag) || NOT_IN_FILES.has(flag)) {
        warnings.push(`${at(entry)}: unknown key ${key}, ignored`);
      } else if (entry.value !== "") {
        own.set(flag, { value: entry.value, at: at(entry) });
      }
    } else if (!OVIRT_KEYS.has(key) && !IGNORED_KEYS.has(key) && !key.startsWith("PACKAGE_")) {
      warnings.push(`${at(entry)}: unknown key ${key}, ignored`);
    }
  }

  const host = get("PROXY_HOST");
  const port = get("PROXY_PORT");
  if (host || port) {
    const p = port?.value.trim() ?? "6100";
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new ConfigError(`${at(port!)}: PROXY_PORT "${p}": expected a port number`);
    let h = host?.value.trim() ?? "*";
    const where = [host, port].filter((e): e is ConfEntry => e !== undefined).map(at);
    if (h === "*") {
      const v6 = get("SOURCE_IS_IPV6");
      h = v6 && isTrue(v6.value) ? "::" : "0.0.0.0";
      if (v6 && isTrue(v6.value)) where.push(at(v6));
    }
    ovirt.set("listen", { value: h.includes(":") ? `[${h}]:${p}` : `${h}:${p}`, at: where.join(", ") });
  }
  const direct: [string, string][] = [
    ["SSL_CERTIFICATE", "cert"],
    ["SSL_KEY", "key"],
    ["SSL_CIPHERS", "ciphers"],
    ["CERT_FOR_DATA_VERIFICATION", "engine-cert"],
  ];
  for (const [key, flag] of direct) {
    const e = get(key);
    if (e) ovirt.set(flag, { value: e.value, at: at(e) });
  }
  const min = get("SSL_MIN_VERSION");
  if (min) {
    const m = /^TLSv?1[._]([23])$/i.exec(min.value.trim());
    if (!m) throw new ConfigError(`${at(min)}: SSL_MIN_VERSION "${min.value}": expected TLSv1.2 or TLSv1.3 (older versions are not offered)`);
    ovirt.set("tls-min", { value: `1.${m[1]}`, at: at(min) });
  }
  const sslOnly = get("SSL_ONLY");
  if (sslOnly && !isTrue(sslOnly.value)) {
    warnings.push(`${at(sslOnly)}: SSL_ONLY=${sslOnly.value}: plaintext is not supported; serving TLS only`);
  }
  const trace = get("TRACE_ENABLE");
  if (trace && isTrue(trace.value)) {
    warnings.push(`${at(trace)}: TRACE_ENABLE: upstream's Python trace has no equivalent; ignored (to record sessions use NOVNC_PROXY_RECORD=DIR)`);
  }

  // Our own TLS source in a file (a drop-in next to 10-setup.conf) replaces oVirt's
  // SSL_CERTIFICATE/SSL_KEY pair instead of clashing with it or half-mixing with it.
  if (["cert", "keystore", "self-signed"].some((f) => own.has(f))) {
    ovirt.delete("cert");
    ovirt.delete("key");
  }

  const out = new Map<string, Candidate>();
  for (const flag of flags) {
    const c = own.get(flag) ?? (flags.has(flag) ? ovirt.get(flag) : undefined);
    if (c) out.set(flag, c);
  }
  return out;
}
