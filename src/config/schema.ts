/**
 * The one table of settings. Each entry is the single source for: the citty arg (and so
 * `--help`), its `NOVNC_PROXY_*` environment variable and config-file key, the oVirt keys that
 * set it, its default, whether it repeats, and the parser that turns its text into a typed value.
 *
 * Adding a setting is one entry in SETTINGS (pick `toggle`, `one`, `maybe` or `many`):
 *
 *   "max-foo": one({ description: "Foo at most", valueHint: "n", default: "8", parse: wholeNumber(0, 100) }),
 *
 * gives `--max-foo`, env and file key NOVNC_PROXY_MAX_FOO, help with its default, and a typed
 * `settings["max-foo"]: number` in compile.ts, where it goes into ServerConfig (or wherever it is
 * used). Add its row to the README's serve table (a test compares it with --help). Parsers throw
 * BadValue with the problem only; merge names the flag, variable or FILE:LINE. Rules between
 * settings and file loading live in compile.ts. Pure: no I/O.
 */
import type { ArgsDef } from "citty";
import { ConfigError } from "../errors.ts";
import { LOG_FORMATS, LOG_LEVEL_NAMES } from "../log-levels.ts";
import { parseRule } from "../policy/allowlist.ts";
import { parseCidr } from "../policy/cidr.ts";
import { originSpecKey } from "../policy/origin.ts";
import { isTrue, type ConfEntry } from "./ovirt-conf.ts";
import { DEFAULT_STORE_PREFIX } from "../store/keys.ts";
import { parseStoreUrl, redactStoreUrl } from "../store/url.ts";
import { BadValue, parseByteSize, parseListen, parseOneOf, parseWholeNumber, shownValue, type ListenAddress } from "./values.ts";

/** Where engine-setup puts the proxy's config; read when present and no --config is given. */
export const DEFAULT_CONF_FILE = "/etc/ovirt-engine/ovirt-websocket-proxy.conf";

/** A value an oVirt key (or several) gives a setting, as text for the setting's parser. */
export interface OvirtValue {
  text: string;
  /** `FILE:LINE` (several joined by ", "). */
  at: string;
  key: string;
}

/** How oVirt keys map onto one setting. `read` may throw ConfigError naming FILE:LINE. */
export interface OvirtMapping {
  keys: readonly string[];
  read(get: (key: string) => ConfEntry | undefined): OvirtValue | undefined;
}

interface Common {
  description: string;
  valueHint?: string;
  /** The default as one would type it; parsed like any given value. */
  default?: string;
  /** The default in words when it is not a value one could type (help and README). */
  defaultNote?: string;
  ovirt?: OvirtMapping;
  /** Only from the command line or env, never from a config file (e.g. --config itself). */
  notInFiles?: true;
  /** Never shown by check-config (the value is a secret itself). */
  secret?: true;
  /** How check-config and error lines show a value that holds a secret in part (a URL's password). */
  shown?(text: string): string;
}

export interface SettingDef<V = unknown> extends Common {
  kind: "string" | "boolean";
  repeatable: boolean;
  /** Text (one item for a repeatable setting) -> value; throws BadValue. */
  parse(text: string): unknown;
  /** Type carrier only. */
  readonly valueType?: V;
}

/** An on/off switch: `--x`, `--no-x`; `true`/`false` words in env and files. Default off unless `default: "true"`. */
export const toggle = (o: Common): SettingDef<boolean> => ({ ...o, kind: "boolean", repeatable: false, parse: (t) => t === "true" });
/** One value with a default. */
const one = <T>(o: Common & { default: string; parse(text: string): T }): SettingDef<T> => ({ ...o, kind: "string", repeatable: false });
/** One value or nothing. */
const maybe = <T>(o: Common & { parse(text: string): T }): SettingDef<T | undefined> => ({ ...o, kind: "string", repeatable: false });
/** A list: the flag repeats; env and files give a comma or space separated list. */
const many = <T>(o: Common & { parse(text: string): T }): SettingDef<T[]> => ({ ...o, kind: "string", repeatable: true });

const text = (t: string): string => t;
/** A parser for a whole number in min..max. */
const wholeNumber = (min: number, max: number) => (t: string) => parseWholeNumber(t, min, max);
const origin = (t: string): string => {
  if (!originSpecKey(t)) throw new BadValue("expected scheme://host[:port] with scheme http or https and no path");
  return t.endsWith("/") ? t.slice(0, -1) : t;
};
const cidr = (t: string): string => {
  const s = t.trim();
  const slash = s.indexOf("/");
  try {
    parseCidr(slash < 0 ? s : s.slice(0, slash), slash < 0 ? null : s.slice(slash + 1));
  } catch (err) {
    throw new BadValue((err as Error).message);
  }
  return s;
};
const allowSpec = (t: string): string => {
  try {
    parseRule(t);
  } catch (err) {
    throw new BadValue((err as Error).message);
  }
  return t;
};

const storeUrl = (t: string): string => {
  parseStoreUrl(t);
  return t.trim();
};
const storePrefix = (t: string): string => {
  if (!/^[\x21-\x7e]{0,100}$/.test(t)) throw new BadValue("expected up to 100 printable characters without spaces");
  return t;
};
const instanceId = (t: string): string => {
  if (!/^[\x21-\x7e]{1,100}$/.test(t)) throw new BadValue("expected 1-100 printable characters without spaces");
  return t;
};

const at = (e: ConfEntry): string => `${e.file}:${e.line}`;
/** An oVirt key that sets the setting to its value unchanged. */
const ovirtKey = (key: string): OvirtMapping => ({
  keys: [key],
  read(get) {
    const e = get(key);
    return e ? { text: e.value, at: at(e), key } : undefined;
  },
});

const DAY = 86400;

export const SETTINGS = {
  listen: one<ListenAddress>({
    description: "Address and port to listen on, [HOST:]PORT; IPv6 in brackets, * = all addresses",
    valueHint: "[host:]port",
    default: "0.0.0.0:6100",
    parse: parseListen,
    ovirt: {
      keys: ["PROXY_HOST", "PROXY_PORT", "SOURCE_IS_IPV6"],
      read(get) {
        const host = get("PROXY_HOST");
        const port = get("PROXY_PORT");
        if (!host && !port) return undefined;
        const p = port?.value.trim() ?? "6100";
        if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new ConfigError(`${at(port!)}: PROXY_PORT "${shownValue(p)}": expected a port number`);
        let h = host?.value.trim() ?? "*";
        const where = [host, port].filter((e): e is ConfEntry => e !== undefined).map(at);
        if (h === "*") {
          const v6 = get("SOURCE_IS_IPV6");
          h = v6 && isTrue(v6.value) ? "::" : "0.0.0.0";
          if (v6 && isTrue(v6.value)) where.push(at(v6));
        }
        return { text: h.includes(":") ? `[${h}]:${p}` : `${h}:${p}`, at: where.join(", "), key: host ? "PROXY_HOST" : "PROXY_PORT" };
      },
    },
  }),
  cert: maybe({ description: "TLS certificate (PEM, leaf first, chain after); may also hold the key", valueHint: "file", parse: text, ovirt: ovirtKey("SSL_CERTIFICATE") }),
  key: maybe({ description: "TLS private key, unencrypted PEM", valueHint: "file", defaultNote: "read from --cert", parse: text, ovirt: ovirtKey("SSL_KEY") }),
  keystore: maybe({ description: "Take the TLS key and certificate from a PKCS#12 keystore instead of --cert/--key", valueHint: "file.p12", parse: text }),
  password: maybe({ description: "Keystore password (also env NOVNC_KEYSTORE_PASSWORD)", valueHint: "pass", defaultNote: "mypass (oVirt's)", parse: text, secret: true }),
  "password-file": maybe({ description: "Read the keystore password from a file", valueHint: "file", parse: text }),
  alias: maybe({ description: "Keystore entry to use (oVirt's unnamed entries are 1)", valueHint: "name", defaultNote: "the only key entry", parse: text }),
  "self-signed": toggle({ description: "Try-out only: serve an in-memory self-signed certificate (browsers will warn)" }),
  "tls-min": one({
    description: "Minimum TLS version offered",
    valueHint: "1.2|1.3",
    default: "1.2",
    parse: (t) => parseOneOf(t, ["1.2", "1.3"] as const),
    ovirt: {
      keys: ["SSL_MIN_VERSION"],
      read(get) {
        const e = get("SSL_MIN_VERSION");
        if (!e) return undefined;
        const m = /^TLSv?1[._]([23])$/i.exec(e.value.trim());
        if (!m) throw new ConfigError(`${at(e)}: SSL_MIN_VERSION "${shownValue(e.value)}": expected TLSv1.2 or TLSv1.3 (older versions are not offered)`);
        return { text: `1.${m[1]}`, at: at(e), key: "SSL_MIN_VERSION" };
      },
    },
  }),
  ciphers: maybe({
    description: "OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are not affected)",
    valueHint: "list",
    defaultNote: "Mozilla intermediate, ECDHE with AES-GCM or ChaCha20-Poly1305 only",
    parse: text,
    ovirt: ovirtKey("SSL_CIPHERS"),
  }),
  "engine-cert": maybe({
    description: "Engine certificate that verifies tickets; required unless --allow-unsigned",
    valueHint: "file",
    parse: text,
    ovirt: ovirtKey("CERT_FOR_DATA_VERIFICATION"),
  }),
  "allow-unsigned": toggle({ description: "Also accept an unsigned novnc-target=HOST:PORT cookie, guarded only by the allowlist" }),
  allow: many({
    description: "Allowed targets: CIDR, IP or host name, optionally :PORTS (5900-6923 or a comma list)",
    valueHint: "spec",
    defaultNote: "any unicast host, ports 5900-6923",
    parse: allowSpec,
  }),
  origin: many({ description: "Extra origin (scheme://host[:port]) allowed to open websockets", valueHint: "origin", defaultNote: "the proxy's own origin", parse: origin }),
  "engine-origin": many({
    description: "Engine origin: may hand tickets to the console page, frame it and open websockets; replaces the derived ones",
    valueHint: "origin",
    defaultNote: "from --engine-cert and engine.conf.d",
    parse: origin,
  }),
  "require-origin": toggle({ description: "Refuse websocket upgrades without an Origin header (non-browser clients)" }),
  "clock-skew": one({ description: "Seconds of clock difference tolerated on ticket validity", valueHint: "seconds", default: "5", parse: wholeNumber(0, 3600) }),
  "connect-timeout": one({ description: "Seconds to wait for the VNC server to accept", valueHint: "seconds", default: "10", parse: wholeNumber(1, 300) }),
  "vnc-ca": maybe({ description: "Verify VeNCrypt VNC servers' certificates against this CA (PEM)", valueHint: "file", defaultNote: "no verification (as upstream)", parse: text }),
  "vnc-verify-name": toggle({ description: "With --vnc-ca: also check the certificate names the ticket's host" }),
  "vnc-client-cert": maybe({ description: "Client certificate for VNC servers with verify-peer=on (PEM)", valueHint: "file", parse: text }),
  "vnc-client-key": maybe({ description: "Key of --vnc-client-cert (PEM)", valueHint: "file", parse: text }),
  "kubevirt-ca": maybe({
    description: "Verify websocket (KubeVirt) targets' certificates against this CA (PEM, the cluster's)",
    valueHint: "file",
    defaultNote: "the system trust store",
    parse: text,
  }),
  "kubevirt-insecure": toggle({ description: "Do not verify websocket (KubeVirt) targets' certificates, as oVirt's proxy does (the bearer token goes to anyone)" }),
  "view-only": toggle({ description: "Every console is read-only: the proxy drops keyboard, mouse and clipboard input" }),
  "max-sessions": one({ description: "Open sessions at most, overall; more get 503 (0 = no cap)", valueHint: "n", default: "2000", parse: wholeNumber(0, 1_000_000) }),
  "max-sessions-per-ip": one({ description: "Open sessions at most per client address; more get 429", valueHint: "n", default: "64", parse: wholeNumber(0, 1_000_000) }),
  "max-sessions-per-ticket": one({ description: "Open sessions at most per ticket; more get 429", valueHint: "n", default: "8", parse: wholeNumber(0, 1_000_000) }),
  "ipv6-prefix": one({ description: "IPv6 clients count against --max-sessions-per-ip by this network prefix (128 = per address)", valueHint: "bits", default: "64", parse: wholeNumber(1, 128) }),
  "single-use": toggle({ description: "A ticket opens one session only; a second use gets 403 (remembered until validTo + --clock-skew)" }),
  "idle-timeout": one({ description: "Close a session after this many seconds without a byte either way, 1008 (0 = never)", valueHint: "seconds", default: "0", parse: wholeNumber(0, 7 * DAY) }),
  "session-limit": one({ description: "Close any session this many seconds after it opened, 1008 (0 = never)", valueHint: "seconds", default: "0", parse: wholeNumber(0, 30 * DAY) }),
  "max-message": one({ description: "Largest websocket message from a browser in bytes; larger closes 1009", valueHint: "bytes", default: "1048576", parse: wholeNumber(1024, 64 * 1024 * 1024) }),
  "trusted-proxy": many({ description: "Believe X-Forwarded-For from these reverse proxies (CIDR)", valueHint: "cidr", defaultNote: "nobody", parse: cidr }),
  "metrics-allow": many({ description: "Only these clients (CIDR) may read /healthz and /metrics", valueHint: "cidr", defaultNote: "everyone", parse: cidr }),
  "drain-timeout": one({ description: "On SIGTERM, seconds to let sessions finish before closing them with 1001", valueHint: "seconds", default: "30", parse: wholeNumber(0, 3600) }),
  "refusal-log-limit": one({
    description: "Refused upgrades logged one by one per client address and minute; the rest are counted in one summary line (0 = log every one)",
    valueHint: "n",
    default: "10",
    parse: wholeNumber(0, 1_000_000),
  }),
  record: maybe({ description: "Record every admitted session (VNC authentication redacted) into files (mode 0600) in this folder, for debugging; they hold keystrokes", valueHint: "dir", parse: text }),
  "record-max-bytes": one({ description: "With --record: a recording stops past this size, with a marker; the session goes on", valueHint: "bytes", default: "1GiB", parse: parseByteSize }),
  "record-max-total": one({ description: "With --record: once the recordings in the folder take this much, new sessions are not recorded (warned, counted)", valueHint: "bytes", default: "10GiB", parse: parseByteSize }),
  store: maybe({
    description: "Share single-use tickets, session caps and the session list with the instances using the same Redis: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://",
    valueHint: "url",
    defaultNote: "none: state is this process's own",
    parse: storeUrl,
    shown: redactStoreUrl,
  }),
  "store-password-file": maybe({ description: "Read the store's password from a file (keeps it out of the URL and ps)", valueHint: "file", parse: text }),
  "store-prefix": one({ description: "Prefix of every key the fleet writes in the store", valueHint: "prefix", default: DEFAULT_STORE_PREFIX, parse: storePrefix }),
  "instance-id": maybe({ description: "This instance's name in the store and in `sessions`", valueHint: "name", defaultNote: "host name:listen port", parse: instanceId }),
  "log-format": one({ description: "Log lines as text or json (one object per line, for journald/collectors)", valueHint: "text|json", default: "text", parse: (t) => parseOneOf(t, LOG_FORMATS) }),
  "log-level": one({ description: `Log level: ${LOG_LEVEL_NAMES.join(", ")}`, valueHint: "level", default: "info", parse: (t) => parseOneOf(t, LOG_LEVEL_NAMES) }),
  config: maybe({
    description: "oVirt-style config file, then FILE.d/*.conf in name order",
    valueHint: "file",
    defaultNote: `${DEFAULT_CONF_FILE} when it exists`,
    parse: text,
    notInFiles: true,
  }),
  debug: toggle({ description: "Print stack traces of unexpected errors", notInFiles: true }),
} as const satisfies Record<string, SettingDef>;

export type SettingsTable = Record<string, SettingDef>;
export type SettingName = keyof typeof SETTINGS;
/** The typed value of every setting of a table. */
export type ValuesOf<T extends SettingsTable> = { -readonly [K in keyof T]: T[K] extends SettingDef<infer V> ? V : never };
/** Every serve setting, typed: what merge returns and compile takes. */
export type Settings = ValuesOf<typeof SETTINGS>;

/** `engine-cert` -> `NOVNC_PROXY_ENGINE_CERT`: the env variable and our config-file key. */
export function envNameOf(name: string): string {
  return `NOVNC_PROXY_${name.toUpperCase().replace(/-/g, "_")}`;
}

/** The default as help and README show it. */
export function defaultText(def: SettingDef): string {
  if (def.kind === "boolean") return def.default === "true" ? "on" : "off";
  return def.default ?? def.defaultNote ?? "none";
}

/** citty's args for a table: names, types, value hints, and a description that ends in the default and env name. */
export function cittyArgs(table: SettingsTable): ArgsDef {
  const out: ArgsDef = {};
  for (const [name, def] of Object.entries(table)) {
    out[name] = {
      type: def.kind,
      description: `${def.description}${def.repeatable ? "; repeatable" : ""} (default: ${defaultText(def)}; env ${envNameOf(name)})`,
      ...(def.valueHint ? { valueHint: def.valueHint } : {}),
    };
  }
  return out;
}

/** A smaller table with some of the settings (shared arg groups for other commands). */
export function pickSettings<const K extends SettingName>(...names: K[]): Pick<typeof SETTINGS, K> {
  return Object.fromEntries(names.map((n) => [n, SETTINGS[n]])) as Pick<typeof SETTINGS, K>;
}
