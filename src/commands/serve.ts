/**
 * `novnc-proxy serve`: flags -> options (pure, `parseServeArgs`) -> loaded config
 * (`loadServeConfig`: files read, keys checked) -> the running server.
 */
import { defineCommand } from "citty";
import { readFileSync, watch, accessSync, statSync, constants } from "node:fs";
import pc from "picocolors";
import { commonArgs, applyLogLevel, repeated, intArg, parseListen } from "./_args.ts";
import { ConfigError, RuntimeError } from "../errors.ts";
import { logger, setLogFormat, type LogFormat } from "../log.ts";
import { SERVER_DEFAULTS, type ServerConfig } from "../server/config.ts";
import { DEFAULT_LIMITS, type Limits } from "../server/limits.ts";
import { compileCidrList } from "../policy/cidr.ts";
import { configArgs, loadSettings } from "../config/load-conf.ts";
import { startServer, type RunningServer } from "../server/https.ts";
import { compileAllowlist } from "../policy/allowlist.ts";
import { loadPemIdentity, loadEngineCert, makeSelfSigned, keyFileModeWarning, type TlsIdentity } from "../tls/identity.ts";
import { loadKeystoreIdentity } from "../tls/pkcs12.ts";
import { resolveKeystorePassword } from "../tls/password.ts";

export const serveArgs = {
  listen: { type: "string", description: "Address and port to listen on, [HOST:]PORT; IPv6 in brackets (default: all addresses, port 6100)", valueHint: "[host:]port" },
  cert: { type: "string", description: "TLS certificate (PEM); may also hold the key", valueHint: "file" },
  key: { type: "string", description: "TLS private key (unencrypted PEM); default: read from --cert", valueHint: "file" },
  keystore: { type: "string", description: "Take the TLS key and certificate from a PKCS#12 keystore instead of --cert/--key", valueHint: "file.p12" },
  password: { type: "string", description: "Keystore password (default: mypass; env NOVNC_KEYSTORE_PASSWORD)", valueHint: "pass" },
  "password-file": { type: "string", description: "Read the keystore password from a file", valueHint: "file" },
  alias: { type: "string", description: "Keystore entry to use (default: the only key entry)", valueHint: "name" },
  "self-signed": { type: "boolean", description: "Try-out only: serve an in-memory self-signed certificate (browsers will warn)" },
  "tls-min": { type: "string", description: "Minimum TLS version offered: 1.2 or 1.3 (default 1.2)", valueHint: "1.2|1.3" },
  ciphers: { type: "string", description: "OpenSSL cipher list for TLS 1.2 (default: Bun's secure defaults)", valueHint: "list" },
  "engine-cert": { type: "string", description: "Engine certificate (PEM) that verifies tickets (oVirt CERT_FOR_DATA_VERIFICATION)", valueHint: "file" },
  "allow-unsigned": { type: "boolean", description: "Also accept an unsigned novnc-target=HOST:PORT cookie, guarded only by the allowlist" },
  allow: { type: "string", description: "Allowed targets, repeatable: CIDR, IP or host name, optionally :PORTS (5900-6923 or a comma list). Default: any unicast host, ports 5900-6923", valueHint: "spec" },
  origin: { type: "string", description: "Extra origin (scheme://host[:port]) allowed to open websockets, repeatable", valueHint: "origin" },
  "engine-origin": { type: "string", description: "Engine origin allowed to hand tickets to the console page, frame it and open websockets, repeatable", valueHint: "origin" },
  "require-origin": { type: "boolean", description: "Refuse websocket upgrades without an Origin header (non-browser clients)" },
  "clock-skew": { type: "string", description: "Seconds of clock difference tolerated on ticket validity (default 5)", valueHint: "seconds" },
  "connect-timeout": { type: "string", description: "Seconds to wait for the VNC server to accept (default 10)", valueHint: "seconds" },
  "vnc-ca": { type: "string", description: "Verify VeNCrypt VNC servers' certificates against this CA (PEM)", valueHint: "file" },
  "vnc-verify-name": { type: "boolean", description: "With --vnc-ca: also check the certificate names the ticket's host" },
  "vnc-client-cert": { type: "string", description: "Client certificate for VNC servers with verify-peer=on (PEM)", valueHint: "file" },
  "vnc-client-key": { type: "string", description: "Key of --vnc-client-cert (PEM)", valueHint: "file" },
  "max-sessions": { type: "string", description: "Open sessions at most, overall; more get 503 (default 2000, 0 = no cap)", valueHint: "n" },
  "max-sessions-per-ip": { type: "string", description: "Open sessions at most per client address; more get 429 (default 64)", valueHint: "n" },
  "max-sessions-per-ticket": { type: "string", description: "Open sessions at most per ticket; more get 429 (default 8)", valueHint: "n" },
  "single-use": { type: "boolean", description: "A ticket opens one session only; a second use gets 403 (noVNC reconnects then need a new ticket)" },
  "idle-timeout": { type: "string", description: "Close a session after this many seconds without a byte either way, 1008 (default 0 = never)", valueHint: "seconds" },
  "session-limit": { type: "string", description: "Close any session this many seconds after it opened, 1008 (default 0 = never)", valueHint: "seconds" },
  "max-message": { type: "string", description: "Largest websocket message from a browser in bytes; larger closes 1009 (default 1048576)", valueHint: "bytes" },
  "trusted-proxy": { type: "string", description: "Believe X-Forwarded-For from these reverse proxies (CIDR), repeatable", valueHint: "cidr" },
  "metrics-allow": { type: "string", description: "Only these clients (CIDR) may read /healthz and /metrics, repeatable (default: everyone)", valueHint: "cidr" },
  "drain-timeout": { type: "string", description: "On SIGTERM, seconds to let sessions finish before closing them with 1001 (default 30)", valueHint: "seconds" },
  record: { type: "string", description: "Record every session's bytes into files (mode 0600) in this folder, for debugging; they hold keystrokes", valueHint: "dir" },
  "log-format": { type: "string", description: "Log lines as text (default) or json (one object per line, for journald/collectors)", valueHint: "text|json" },
  ...configArgs,
  ...commonArgs,
} as const;

/** What the flags say, validated; certificate files not yet read (a --password-file is). */
export interface ServeOptions {
  hostname: string;
  port: number;
  tls:
    | { kind: "pem"; certFile: string; keyFile?: string }
    | { kind: "keystore"; file: string; password: string; alias?: string }
    | { kind: "self-signed" };
  tlsMin: "1.2" | "1.3";
  ciphers?: string;
  engineCertFile?: string;
  allowUnsigned: boolean;
  allow: string[];
  origins: string[];
  engineOrigins: string[];
  requireOrigin: boolean;
  clockSkewSeconds: number;
  connectTimeoutSeconds: number;
  vncCaFile?: string;
  vncVerifyName: boolean;
  vncClientCertFile?: string;
  vncClientKeyFile?: string;
  limits: Limits;
  maxMessageBytes: number;
  trustedProxies: string[];
  metricsAllow: string[];
  drainTimeoutSeconds: number;
  logFormat: LogFormat;
  recordDir: string | null;
}

type Flags = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Flags (citty's parsed args + the raw list for repeatable flags) -> options. Pure but for --password-file. */
export function parseServeArgs(args: Flags, rawArgs: readonly string[], env: Record<string, string | undefined> = {}): ServeOptions {
  const { hostname, port } = parseListen(str(args.listen) ?? "6100");
  const sources = [str(args.cert) && "--cert", str(args.keystore) && "--keystore", args["self-signed"] && "--self-signed"].filter(Boolean);
  if (sources.length > 1) throw new ConfigError(`${sources.join(" and ")} exclude each other: give one`);
  let tls: ServeOptions["tls"];
  if (str(args.keystore)) {
    tls = {
      kind: "keystore",
      file: str(args.keystore)!,
      password: resolveKeystorePassword({ password: str(args.password), passwordFile: str(args["password-file"]) }, env),
      alias: str(args.alias),
    };
  } else if (str(args.cert)) {
    tls = { kind: "pem", certFile: str(args.cert)!, keyFile: str(args.key) };
  } else if (args["self-signed"]) {
    tls = { kind: "self-signed" };
  } else {
    throw new ConfigError("no TLS certificate: give --cert FILE [--key FILE], --keystore FILE, or --self-signed to try it out");
  }
  if (str(args.key) && tls.kind !== "pem") throw new ConfigError("--key goes with --cert");
  const tlsMin = str(args["tls-min"]) ?? "1.2";
  if (tlsMin !== "1.2" && tlsMin !== "1.3") throw new ConfigError(`--tls-min "${tlsMin}": expected 1.2 or 1.3`);
  const engineCertFile = str(args["engine-cert"]);
  const allowUnsigned = Boolean(args["allow-unsigned"]);
  if (!engineCertFile && !allowUnsigned) {
    throw new ConfigError("--engine-cert FILE is required to verify tickets (or --allow-unsigned to accept plain targets)");
  }
  if (!str(args["vnc-ca"]) && args["vnc-verify-name"]) throw new ConfigError("--vnc-verify-name needs --vnc-ca");
  if (Boolean(str(args["vnc-client-cert"])) !== Boolean(str(args["vnc-client-key"]))) {
    throw new ConfigError("--vnc-client-cert and --vnc-client-key go together");
  }
  return {
    hostname,
    port,
    tls,
    tlsMin,
    ciphers: str(args.ciphers),
    engineCertFile,
    allowUnsigned,
    allow: repeated(rawArgs, "allow"),
    origins: repeated(rawArgs, "origin"),
    engineOrigins: repeated(rawArgs, "engine-origin"),
    requireOrigin: Boolean(args["require-origin"]),
    clockSkewSeconds: intArg("clock-skew", args["clock-skew"], 5, 0, 3600),
    connectTimeoutSeconds: intArg("connect-timeout", args["connect-timeout"], 10, 1, 300),
    vncCaFile: str(args["vnc-ca"]),
    vncVerifyName: Boolean(args["vnc-verify-name"]),
    vncClientCertFile: str(args["vnc-client-cert"]),
    vncClientKeyFile: str(args["vnc-client-key"]),
    limits: {
      maxSessions: intArg("max-sessions", args["max-sessions"], DEFAULT_LIMITS.maxSessions, 0, 1_000_000),
      maxSessionsPerIp: intArg("max-sessions-per-ip", args["max-sessions-per-ip"], DEFAULT_LIMITS.maxSessionsPerIp, 0, 1_000_000),
      maxSessionsPerTicket: intArg("max-sessions-per-ticket", args["max-sessions-per-ticket"], DEFAULT_LIMITS.maxSessionsPerTicket, 0, 1_000_000),
      singleUse: Boolean(args["single-use"]),
      idleTimeoutSeconds: intArg("idle-timeout", args["idle-timeout"], 0, 0, 7 * 86400),
      sessionMaxSeconds: intArg("session-limit", args["session-limit"], 0, 0, 30 * 86400),
    },
    maxMessageBytes: intArg("max-message", args["max-message"], SERVER_DEFAULTS.maxMessageBytes, 1024, 64 * 1024 * 1024),
    trustedProxies: repeated(rawArgs, "trusted-proxy"),
    metricsAllow: repeated(rawArgs, "metrics-allow"),
    drainTimeoutSeconds: intArg("drain-timeout", args["drain-timeout"], 30, 0, 3600),
    logFormat: parseLogFormat(str(args["log-format"]) ?? "text"),
    recordDir: str(args.record) ?? null,
  };
}

function parseLogFormat(v: string): LogFormat {
  if (v !== "text" && v !== "json") throw new ConfigError(`--log-format "${v}": expected text or json`);
  return v;
}

function readPem(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${flag} ${file}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : "cannot read"}`);
  }
}

/** Options -> a ServerConfig: reads and checks every file; ConfigError on the first problem. */
export function loadServeConfig(o: ServeOptions): { config: ServerConfig; warnings: string[] } {
  const warnings: string[] = [];
  let identity: TlsIdentity;
  if (o.tls.kind === "pem") {
    identity = loadPemIdentity(o.tls.certFile, o.tls.keyFile);
    const w = keyFileModeWarning(o.tls.keyFile ?? o.tls.certFile);
    if (w) warnings.push(w);
  } else if (o.tls.kind === "keystore") {
    identity = loadKeystoreIdentity(o.tls.file, o.tls.password, o.tls.alias);
    const w = keyFileModeWarning(o.tls.file);
    if (w) warnings.push(w);
  } else {
    const names = ["localhost", "127.0.0.1", "::1"];
    if (!["0.0.0.0", "::"].includes(o.hostname) && !names.includes(o.hostname)) names.unshift(o.hostname);
    identity = makeSelfSigned(names);
    warnings.push(`self-signed certificate for try-out only; browsers will not trust it (SHA-256 ${identity.fingerprint256})`);
  }
  const engine = o.engineCertFile ? loadEngineCert(o.engineCertFile) : null;
  if (o.recordDir) warnings.push(`--record: every session is recorded into ${o.recordDir} (files hold keystrokes; mode 0600)`);
  if (o.allowUnsigned) warnings.push("--allow-unsigned: plain novnc-target cookies are accepted; only the allowlist guards targets");
  // Compile the client lists now so a bad CIDR stops start-up with its flag named.
  compileCidrList(o.trustedProxies, "--trusted-proxy", false);
  compileCidrList(o.metricsAllow, "--metrics-allow", true);
  const config: ServerConfig = {
    hostname: o.hostname,
    port: o.port,
    identity,
    tlsMin: o.tlsMin,
    ciphers: o.ciphers,
    engineKey: engine?.key ?? null,
    engineSubject: engine?.subject ?? null,
    allowUnsigned: o.allowUnsigned,
    allowlist: compileAllowlist(o.allow),
    origins: o.origins,
    engineOrigins: o.engineOrigins,
    requireOrigin: o.requireOrigin,
    clockSkewSeconds: o.clockSkewSeconds,
    connectTimeoutSeconds: o.connectTimeoutSeconds,
    limits: o.limits,
    maxMessageBytes: o.maxMessageBytes,
    trustedProxies: o.trustedProxies,
    metricsAllow: o.metricsAllow,
    recordDir: o.recordDir ? checkRecordDir(o.recordDir) : null,
    vnc: {
      caPem: o.vncCaFile ? readPem(o.vncCaFile, "--vnc-ca") : null,
      verifyName: o.vncVerifyName,
      clientCertPem: o.vncClientCertFile ? readPem(o.vncClientCertFile, "--vnc-client-cert") : null,
      clientKeyPem: o.vncClientKeyFile ? readPem(o.vncClientKeyFile, "--vnc-client-key") : null,
    },
  };
  return { config, warnings };
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
function handleSignals(running: RunningServer, options: ServeOptions, reread: () => ServeOptions): void {
  const reload = (why: string) => {
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
  let timer: ReturnType<typeof setTimeout> | undefined;
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
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: draining ${running.sessions()} session(s), up to ${options.drainTimeoutSeconds}s`);
    await running.drain(options.drainTimeoutSeconds * 1000);
    await running.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

export default defineCommand({
  meta: { name: "serve", description: "Serve the HTML5 console and relay ticket-verified websockets to VNC servers" },
  args: serveArgs,
  async run({ rawArgs }) {
    // Flags > NOVNC_PROXY_* env > config files (oVirt's format) > defaults.
    const settings = loadSettings(serveArgs, rawArgs, process.env);
    applyLogLevel(settings.args["log-level"]);
    const options = parseServeArgs(settings.args, settings.rawArgs, process.env);
    setLogFormat(options.logFormat);
    const { config, warnings } = loadServeConfig(options);
    const running = await runServer(config, [...settings.warnings, ...warnings]);
    handleSignals(running, options, () => {
      const again = loadSettings(serveArgs, rawArgs, process.env);
      return parseServeArgs(again.args, again.rawArgs, process.env);
    });
  },
});
