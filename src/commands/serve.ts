/**
 * `novnc-proxy serve`: flags (+ env + config files) -> options (`parseServeArgs`, pure but for a
 * --password-file) -> loaded config (src/server/load-config.ts) -> the running server
 * (src/server/lifecycle.ts).
 */
import { defineCommand } from "citty";
import { commonArgs, applyLogLevel, repeated, intArg, byteSizeArg, parseListen } from "./_args.ts";
import { ConfigError } from "../errors.ts";
import { setLogFormat, type LogFormat } from "../log.ts";
import { SERVER_DEFAULTS } from "../server/config.ts";
import { DEFAULT_LIMITS } from "../server/limits.ts";
import type { ServeOptions } from "../server/options.ts";
import { loadServeConfig } from "../server/load-config.ts";
import { runServer, handleSignals } from "../server/lifecycle.ts";
import { configArgs, loadSettings } from "../config/load-conf.ts";
import { resolveKeystorePassword } from "../tls/password.ts";

export type { ServeOptions };

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
  ciphers: { type: "string", description: "OpenSSL cipher list for TLS 1.2 (default: Mozilla intermediate, ECDHE with AES-GCM or ChaCha20-Poly1305)", valueHint: "list" },
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
  "ipv6-prefix": { type: "string", description: "IPv6 clients count against --max-sessions-per-ip by this network prefix (default 64; 128 = per address)", valueHint: "bits" },
  "single-use": { type: "boolean", description: "A ticket opens one session only; a second use gets 403 (noVNC reconnects then need a new ticket)" },
  "idle-timeout": { type: "string", description: "Close a session after this many seconds without a byte either way, 1008 (default 0 = never)", valueHint: "seconds" },
  "session-limit": { type: "string", description: "Close any session this many seconds after it opened, 1008 (default 0 = never)", valueHint: "seconds" },
  "max-message": { type: "string", description: "Largest websocket message from a browser in bytes; larger closes 1009 (default 1048576)", valueHint: "bytes" },
  "trusted-proxy": { type: "string", description: "Believe X-Forwarded-For from these reverse proxies (CIDR), repeatable", valueHint: "cidr" },
  "metrics-allow": { type: "string", description: "Only these clients (CIDR) may read /healthz and /metrics, repeatable (default: everyone)", valueHint: "cidr" },
  "drain-timeout": { type: "string", description: "On SIGTERM, seconds to let sessions finish before closing them with 1001 (default 30)", valueHint: "seconds" },
  record: { type: "string", description: "Record every session's bytes into files (mode 0600) in this folder, for debugging; they hold keystrokes", valueHint: "dir" },
  "refusal-log-limit": { type: "string", description: "Refused upgrades logged one by one per client address and minute; the rest are counted in one summary line (default 10, 0 = log every one)", valueHint: "n" },
  "record-max-bytes": { type: "string", description: "With --record: stop a session's recording past this size, with a marker; the session goes on (default 1GiB)", valueHint: "bytes" },
  "record-max-total": { type: "string", description: "With --record: past this much in the folder, new sessions are not recorded, with a warning (default 10GiB)", valueHint: "bytes" },
  "log-format": { type: "string", description: "Log lines as text (default) or json (one object per line, for journald/collectors)", valueHint: "text|json" },
  ...configArgs,
  ...commonArgs,
} as const;

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
      ipv6Prefix: intArg("ipv6-prefix", args["ipv6-prefix"], DEFAULT_LIMITS.ipv6Prefix, 1, 128),
      idleTimeoutSeconds: intArg("idle-timeout", args["idle-timeout"], 0, 0, 7 * 86400),
      sessionMaxSeconds: intArg("session-limit", args["session-limit"], 0, 0, 30 * 86400),
    },
    maxMessageBytes: intArg("max-message", args["max-message"], SERVER_DEFAULTS.maxMessageBytes, 1024, 64 * 1024 * 1024),
    trustedProxies: repeated(rawArgs, "trusted-proxy"),
    metricsAllow: repeated(rawArgs, "metrics-allow"),
    drainTimeoutSeconds: intArg("drain-timeout", args["drain-timeout"], 30, 0, 3600),
    logFormat: parseLogFormat(str(args["log-format"]) ?? "text"),
    refusalLogLimit: intArg("refusal-log-limit", args["refusal-log-limit"], SERVER_DEFAULTS.refusalLogLimit, 0, 1_000_000),
    recordDir: str(args.record) ?? null,
    recordMaxBytes: byteSizeArg("record-max-bytes", args["record-max-bytes"], SERVER_DEFAULTS.recordMaxBytes),
    recordMaxTotal: byteSizeArg("record-max-total", args["record-max-total"], SERVER_DEFAULTS.recordMaxTotal),
  };
}

function parseLogFormat(v: string): LogFormat {
  if (v !== "text" && v !== "json") throw new ConfigError(`--log-format "${v}": expected text or json`);
  return v;
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
