/**
 * Merged settings -> everything compiled and checked before anything listens: TLS identity,
 * engine certificate, derived engine origins, allowlist, VNC files, recording folder and the
 * rules between settings. The one path for serve, check-config, demo and reload; the server
 * then gets a ServerConfig it can only fail to bind.
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { X509Certificate, type KeyObject } from "node:crypto";
import { ConfigError } from "../errors.ts";
import type { LogFormat, LogLevelName } from "../log.ts";
import { compileAllowlist } from "../policy/allowlist.ts";
import { compileCidrList } from "../policy/cidr.ts";
import { compileOriginCheck } from "../policy/origin.ts";
import type { ClientPolicy, ServerConfig, StoreConfig } from "../server/config.ts";
import { parseStoreUrl, redactStoreUrl } from "../store/url.ts";
import { keyFileModeWarning, loadPemIdentity, makeSelfSigned, type TlsIdentity } from "../tls/identity.ts";
import { loadEngineCert } from "../tls/engine-key.ts";
import { readSecretFile, resolveKeystorePassword } from "../tls/password.ts";
import { loadKeystoreIdentity } from "../tls/pkcs12.ts";
import { readInputFile } from "../tls/read-file.ts";
import { DEFAULT_TLS12_CIPHERS } from "../tls/ciphers.ts";
import { isCertificateLabel, splitPem } from "../tls/pem.ts";
import { originsFromCertificate, originsFromEngineConf, uniqueOrigins, type SourcedOrigin } from "./engine-origins.ts";
import { readConfLayers } from "./load-conf.ts";
import { mergeSettings, type Merged } from "./merge.ts";
import { SETTINGS, type Settings } from "./schema.ts";
import { BadValue } from "./values.ts";

export interface CompiledSettings {
  server: ServerConfig;
  logLevel: LogLevelName;
  logFormat: LogFormat;
  drainTimeoutSeconds: number;
  /** Files whose change triggers a reload (certificate, key, keystore, engine certificate). */
  watchedFiles: string[];
  /** The effective engine origins and where each came from. */
  engineOrigins: SourcedOrigin[];
  warnings: string[];
}

/** What the demo (and tests) hand in instead of files. */
export interface Preloaded {
  identity?: TlsIdentity;
  engine?: { key: KeyObject; subject: string; cert?: X509Certificate };
  extraRoutes?: ServerConfig["extraRoutes"];
}

type Input = Pick<Merged<typeof SETTINGS>, "values" | "sources"> & { confBase?: string | null };

/** Compiles merged settings; ConfigError (one line naming the flag, FILE:LINE or file) on the first problem. */
export function compileSettings(m: Input, env: Record<string, string | undefined>, pre: Preloaded = {}): CompiledSettings {
  const v: Settings = m.values;
  /** `--cert`, or `--cert (f.conf:2)` when it did not come from the command line. */
  const named = (n: keyof Settings): string => (m.sources[n] === "flag" || m.sources[n] === "default" ? `--${n}` : `--${n} (${m.sources[n]})`);
  const warnings: string[] = [];

  const tlsSources = (["cert", "keystore", "self-signed"] as const).filter((n) => Boolean(v[n]));
  if (tlsSources.length > 1) throw new ConfigError(`${tlsSources.map(named).join(" and ")} exclude each other: give one`);
  if (v.key && !v.cert) throw new ConfigError(`${named("key")} goes with --cert`);
  if (!v["engine-cert"] && !v["allow-unsigned"] && !pre.engine) {
    throw new ConfigError("--engine-cert FILE is required to verify tickets (or --allow-unsigned to accept plain targets)");
  }
  if (v["vnc-verify-name"] && !v["vnc-ca"]) throw new ConfigError(`${named("vnc-verify-name")} needs --vnc-ca`);
  if (v["kubevirt-ca"] && v["kubevirt-insecure"]) throw new ConfigError(`${named("kubevirt-ca")} and ${named("kubevirt-insecure")} exclude each other: give one`);
  if (Boolean(v["vnc-client-cert"]) !== Boolean(v["vnc-client-key"])) throw new ConfigError("--vnc-client-cert and --vnc-client-key go together");

  const { hostname, port } = v.listen;
  let identity: TlsIdentity;
  const watchedFiles: string[] = [];
  if (pre.identity) identity = pre.identity;
  else if (v.keystore) {
    const password = resolveKeystorePassword({ password: v.password, passwordFile: v["password-file"] }, env);
    identity = loadKeystoreIdentity(v.keystore, password, v.alias);
    watchedFiles.push(v.keystore);
    const w = keyFileModeWarning(v.keystore);
    if (w) warnings.push(w);
  } else if (v.cert) {
    identity = loadPemIdentity(v.cert, v.key);
    watchedFiles.push(v.cert, ...(v.key ? [v.key] : []));
    const w = keyFileModeWarning(v.key ?? v.cert);
    if (w) warnings.push(w);
  } else if (v["self-signed"]) {
    const names = ["localhost", "127.0.0.1", "::1"];
    if (!["0.0.0.0", "::"].includes(hostname) && !names.includes(hostname)) names.unshift(hostname);
    identity = makeSelfSigned(names);
    warnings.push(`self-signed certificate for try-out only; browsers will not trust it (SHA-256 ${identity.fingerprint256})`);
  } else {
    throw new ConfigError("no TLS certificate: give --cert FILE [--key FILE], --keystore FILE, or --self-signed to try it out");
  }

  let engine = pre.engine ?? null;
  if (!engine && v["engine-cert"]) {
    engine = loadEngineCert(v["engine-cert"]);
    watchedFiles.push(v["engine-cert"]);
  }

  let engineOrigins: SourcedOrigin[];
  if (m.sources["engine-origin"] !== "default") {
    engineOrigins = v["engine-origin"].map((origin) => ({ origin, source: m.sources["engine-origin"] === "flag" ? "--engine-origin" : m.sources["engine-origin"] }));
  } else {
    engineOrigins = [
      ...(engine?.cert && v["engine-cert"] ? originsFromCertificate(engine.cert, v["engine-cert"]) : []),
      ...(m.confBase ? engineConfOrigins(m.confBase, warnings) : []),
    ];
  }
  engineOrigins = uniqueOrigins(engineOrigins);

  const store = compileStore(v, (n) => m.sources[n] !== "default", (n) => named(n));

  if (v.record) warnings.push(`--record: every session is recorded into ${v.record} (files hold keystrokes; mode 0600)`);
  if (v["kubevirt-insecure"]) {
    warnings.push("--kubevirt-insecure: websocket (KubeVirt) targets' certificates are not checked; their bearer tokens go to whoever answers");
  }
  if (v["view-only"]) warnings.push("--view-only: every console is read-only (keyboard, mouse and clipboard input is dropped)");
  if (v["allow-unsigned"]) warnings.push("--allow-unsigned: plain novnc-target cookies are accepted; only the allowlist guards targets");
  const readPem = (file: string, flag: string): string => readInputFile(file, flag).toString("utf8");

  const server: ServerConfig = {
    ...plainFields(v),
    hostname,
    port,
    identity,
    engineKey: engine?.key ?? null,
    engineSubject: engine?.subject ?? null,
    engineOrigins: engineOrigins.map((o) => o.origin),
    client: compileClientPolicy(v, engineOrigins.map((o) => o.origin)),
    recordDir: v.record ? checkRecordDir(v.record) : null,
    store,
    vnc: {
      caPem: v["vnc-ca"] ? readPem(v["vnc-ca"], "--vnc-ca") : null,
      verifyName: v["vnc-verify-name"],
      clientCertPem: v["vnc-client-cert"] ? readPem(v["vnc-client-cert"], "--vnc-client-cert") : null,
      clientKeyPem: v["vnc-client-key"] ? readPem(v["vnc-client-key"], "--vnc-client-key") : null,
    },
    kubevirt: { caPem: v["kubevirt-ca"] ? readCaBundle(v["kubevirt-ca"]) : null, insecure: v["kubevirt-insecure"] },
    ...(pre.extraRoutes ? { extraRoutes: pre.extraRoutes } : {}),
  };
  return {
    server,
    logLevel: v["log-level"],
    logFormat: v["log-format"],
    drainTimeoutSeconds: v["drain-timeout"],
    watchedFiles,
    engineOrigins,
    warnings,
  };
}

/** The ServerConfig fields that are settings as they are (no file, no derivation). */
function plainFields(v: Settings) {
  return {
    tlsMin: v["tls-min"],
    ciphers: v.ciphers ?? DEFAULT_TLS12_CIPHERS,
    allowUnsigned: v["allow-unsigned"],
    allowlist: compileAllowlist(v.allow),
    clockSkewSeconds: v["clock-skew"],
    connectTimeoutSeconds: v["connect-timeout"],
    limits: {
      maxSessions: v["max-sessions"],
      maxSessionsPerIp: v["max-sessions-per-ip"],
      maxSessionsPerTicket: v["max-sessions-per-ticket"],
      singleUse: v["single-use"],
      ipv6Prefix: v["ipv6-prefix"],
      idleTimeoutSeconds: v["idle-timeout"],
      sessionMaxSeconds: v["session-limit"],
    },
    maxMessageBytes: v["max-message"],
    refusalLogLimit: v["refusal-log-limit"],
    recordMaxBytes: v["record-max-bytes"],
    recordMaxTotal: v["record-max-total"],
    viewOnly: v["view-only"],
  } satisfies Partial<ServerConfig>;
}

/**
 * The per-request client checks: websockets from --origin and the engine origins (plus the
 * proxy's own), --require-origin, --trusted-proxy and --metrics-allow matchers. A bad entry
 * throws ConfigError naming its flag, before anything listens.
 */
export function compileClientPolicy(
  v: Pick<Settings, "origin" | "require-origin" | "trusted-proxy" | "metrics-allow">,
  engineOrigins: readonly string[],
): ClientPolicy {
  return {
    checkOrigin: compileOriginCheck([...v.origin, ...engineOrigins], { requireOrigin: v["require-origin"] }),
    isTrustedProxy: compileCidrList(v["trusted-proxy"], "--trusted-proxy", false),
    mayReadMetrics: compileCidrList(v["metrics-allow"], "--metrics-allow", true),
  };
}

/** Every setting at its default (the table's), for SERVER_DEFAULTS and tests. */
export const DEFAULT_SETTINGS: Settings = mergeSettings({ table: SETTINGS, flags: new Map(), env: {} }).values;

/**
 * The schema's defaults as ServerConfig fields, for in-process servers (tests) that build their
 * own; one with other engine origins or client rules recompiles `client` with compileClientPolicy.
 */
export const SERVER_DEFAULTS = {
  ...plainFields(DEFAULT_SETTINGS),
  engineOrigins: [] as string[],
  client: compileClientPolicy(DEFAULT_SETTINGS, []),
  recordDir: null,
  vnc: { caPem: null, verifyName: false, clientCertPem: null, clientKeyPem: null },
  kubevirt: { caPem: null, insecure: false },
} satisfies Partial<ServerConfig>;

/**
 * ENGINE_FQDN / SSO_ALTERNATE_ENGINE_FQDNS from the `engine.conf.d` beside the oVirt config file
 * read (on an engine: /etc/ovirt-engine/engine.conf.d). Not our files: what cannot be read is a
 * warning, and lines we do not need may use shell we refuse.
 */
function engineConfOrigins(confBase: string, warnings: string[]): SourcedOrigin[] {
  const base = join(dirname(confBase), "engine.conf");
  try {
    const { values, errors } = readConfLayers(undefined, base);
    for (const e of errors) {
      if (/^(ENGINE_FQDN|SSO_ALTERNATE_ENGINE_FQDNS):/.test(e.message)) warnings.push(`${e.file}:${e.line}: ${e.message}; not used for engine origins`);
    }
    return originsFromEngineConf(values);
  } catch (err) {
    warnings.push(`${base}.d: ${err instanceof Error ? err.message : String(err)}; engine origins from it skipped`);
    return [];
  }
}

/** The store settings (`sessions` has all but the instance id). */
export type StoreSettings = Pick<Settings, "store" | "store-password-file" | "store-prefix"> & { "instance-id"?: string };

/**
 * `--store` with its password file, prefix and instance id; null without `--store` (then the
 * other store settings are a mistake, not silently unused). Shared by serve and `sessions`.
 */
export function compileStore(v: StoreSettings, given: (n: keyof StoreSettings) => boolean, named: (n: keyof StoreSettings) => string): StoreConfig | null {
  if (!v.store) {
    const stray = (["store-password-file", "store-prefix", "instance-id"] as const).find(given);
    if (stray) throw new ConfigError(`${named(stray)} goes with --store URL`);
    return null;
  }
  const file = v["store-password-file"];
  const password = file ? readSecretFile(file, "--store-password-file") : undefined;
  let address;
  try {
    address = parseStoreUrl(v.store, password);
  } catch (err) {
    if (err instanceof BadValue) throw new ConfigError(`${named("store")} "${redactStoreUrl(v.store)}": ${err.message}`);
    throw err;
  }
  return { url: address.url, shown: address.shown, prefix: v["store-prefix"], instanceId: v["instance-id"] ?? null };
}

/**
 * The websocket targets' CA: only its certificates, each one parsed now, so a wrong file stops
 * start-up with its name instead of failing every KubeVirt session later.
 */
function readCaBundle(file: string): string {
  const blocks = splitPem(readInputFile(file, "--kubevirt-ca").toString("utf8")).filter((b) => isCertificateLabel(b.label));
  if (blocks.length === 0) throw new ConfigError(`--kubevirt-ca ${file}: no PEM certificate in it`);
  for (const b of blocks) {
    try {
      new X509Certificate(b.text);
    } catch {
      throw new ConfigError(`--kubevirt-ca ${file}: a certificate in it does not parse`);
    }
  }
  return blocks.map((b) => b.text).join("");
}

/** The recording folder must exist and be writable; recordings are sensitive, so say so. */
function checkRecordDir(dir: string): string {
  try {
    accessSync(dir, constants.W_OK);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`--record ${dir}: ${code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : "not writable"}`);
  }
  return dir;
}
