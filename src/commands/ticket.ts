/**
 * `novnc-proxy ticket`: mint a signed console ticket the way the oVirt engine does, and
 * `ticket inspect`: show what a ticket says and whether it verifies. Thin: flags -> options
 * (pure, exported), file reading, then the pure modules in src/ticket.
 */
import { BadValue, parseWholeNumber } from "../config/values.ts";
import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { ConfigError, RuntimeError } from "../errors.ts";
import { ticketHash } from "../ticket/hash.ts";
import { loadEngineCert, loadEngineSigningKey } from "../tls/engine-key.ts";
import { describeTicket } from "../ticket/describe.ts";
import { ticketFromPath } from "../ticket/path.ts";
import { DEFAULT_LIFETIME_SECONDS, signTicket } from "../ticket/sign.ts";

/** Longest lifetime the command will mint (one year); the engine uses 120 s. */
const MAX_LIFETIME_SECONDS = 365 * 24 * 3600;
const DEFAULT_CLOCK_SKEW_SECONDS = 5;

export interface MintOptions {
  keyFile: string;
  certFile: string;
  host: string;
  port: number;
  sslTarget: boolean;
  viewOnly: boolean;
  lifetimeSeconds: number;
  order: "java" | "python";
}

export interface InspectOptions {
  /** The ticket, `-` for stdin, or a `wss://...` URL / `/path` holding it. */
  ticket: string;
  engineCertFile: string | null;
  skewSeconds: number;
}

function required(value: unknown, flag: string, what: string): string {
  if (typeof value !== "string" || value.length === 0) throw new ConfigError(`missing --${flag} (${what})`);
  return value;
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  try {
    return parseWholeNumber(value, min, max);
  } catch (err) {
    if (err instanceof BadValue) throw new ConfigError(`--${flag} must be ${err.message.replace(/^expected /, "")}`);
    throw err;
  }
}

/** Turns the mint flags into options; throws ConfigError for a missing or bad value. */
export function parseMintArgs(args: Record<string, unknown>): MintOptions {
  const order = args.order ?? "java";
  if (order !== "java" && order !== "python") throw new ConfigError("--order must be java or python");
  const keyFile = required(args.key, "key", "the engine's private key, PEM");
  const certFile = required(args.cert, "cert", "the engine's certificate, PEM");
  const host = required(args.host, "host", "the VNC server's address or name");
  if (!/^[\x21-\x7e]+$/.test(host)) throw new ConfigError("--host must be an address or name without spaces");
  return {
    keyFile,
    certFile,
    host,
    port: wholeNumber(required(args.port, "port", "the VNC port"), "port", 1, 65535),
    sslTarget: args["ssl-target"] === true || args.sslTarget === true,
    viewOnly: args["view-only"] === true || args.viewOnly === true,
    lifetimeSeconds: wholeNumber(String(args.lifetime ?? DEFAULT_LIFETIME_SECONDS), "lifetime", 1, MAX_LIFETIME_SECONDS),
    order,
  };
}

/** Turns the inspect flags into options; throws ConfigError for a bad value. */
export function parseInspectArgs(args: Record<string, unknown>): InspectOptions {
  const engineCert = args["engine-cert"] ?? args.engineCert;
  return {
    ticket: required(args.ticket, "ticket", "the ticket to inspect"),
    engineCertFile: typeof engineCert === "string" && engineCert.length > 0 ? engineCert : null,
    skewSeconds: wholeNumber(String(args["clock-skew"] ?? args.clockSkew ?? DEFAULT_CLOCK_SKEW_SECONDS), "clock-skew", 0, 3600),
  };
}

/** Reads a ticket given on the command line: `-` is stdin; a URL or `/path` is unwrapped like the server does. */
function resolveTicketText(arg: string): string {
  let text = arg === "-" ? readFileSync(0, "utf8").trim() : arg.trim();
  if (/^wss?:\/\//i.test(text)) {
    const slash = text.indexOf("/", text.indexOf("//") + 2);
    text = slash < 0 ? "" : text.slice(slash);
  }
  if (text.startsWith("/")) return ticketFromPath(text) ?? "";
  if (text.includes("%")) return ticketFromPath(`/${text}`) ?? text;
  return text;
}

const inspect = defineCommand({
  meta: { name: "inspect", description: "Show a ticket's fields, validity and verdict (prints nothing secret)" },
  args: {
    ticket: {
      type: "positional",
      description: "The ticket (raw or percent-encoded base64, or a wss:// URL holding it); - reads it from stdin",
      valueHint: "TICKET",
      required: true,
    },
    "engine-cert": {
      type: "string",
      description: "Engine certificate (PEM) to verify the signature with; without it only the format is checked",
      valueHint: "FILE",
    },
    "clock-skew": {
      type: "string",
      description: "Seconds of clock difference to tolerate at either end of the validity window",
      valueHint: "SECONDS",
      default: String(DEFAULT_CLOCK_SKEW_SECONDS),
    },
  },
  run({ args }) {
    const opts = parseInspectArgs(args);
    const engineKey = opts.engineCertFile === null ? null : loadEngineCert(opts.engineCertFile).key;
    const ticket = resolveTicketText(opts.ticket);
    const result = describeTicket(ticket, { engineKey, now: new Date(), skewSeconds: opts.skewSeconds, hash: ticketHash(ticket) });
    process.stdout.write(result.lines.join("\n") + "\n");
    const ok = engineKey === null ? result.decoded : result.valid;
    if (!ok) throw new RuntimeError(`ticket is not valid: ${result.reason ?? "unknown"}`);
  },
});

export default defineCommand({
  meta: {
    name: "ticket",
    description: "Mint a signed console ticket like the oVirt engine (RSASSA-PSS, engine key), or inspect one",
  },
  args: {
    key: { type: "string", description: "Engine private key, unencrypted PEM (e.g. engine.key.nopass)", valueHint: "FILE" },
    cert: { type: "string", description: "Engine certificate, PEM, embedded in the ticket like the engine does (e.g. engine.cer)", valueHint: "FILE" },
    host: { type: "string", description: "VNC server address or name the ticket grants", valueHint: "HOST" },
    port: { type: "string", description: "VNC server port the ticket grants", valueHint: "PORT" },
    "ssl-target": { type: "boolean", description: "The VNC server speaks VeNCrypt/x509 (oVirt VNC encryption)", default: false },
    "view-only": { type: "boolean", description: "Read-only console: the proxy drops keyboard, mouse and clipboard input (signed view_only)", default: false },
    lifetime: {
      type: "string",
      description: "Seconds the ticket stays valid (the engine's default is 120)",
      valueHint: "SECONDS",
      default: String(DEFAULT_LIFETIME_SECONDS),
    },
    order: {
      type: "enum",
      options: ["java", "python"],
      description: "Signed-field order: java (the engine: salt,data,validFrom,validTo) or python (salt,validFrom,validTo,data)",
      default: "java",
    },
  },
  subCommands: { inspect },
  run({ args }) {
    // citty runs this after a sub-command too; a positional means `inspect` already ran.
    if (args._.length > 0) return;
    const opts = parseMintArgs(args);
    const key = loadEngineSigningKey(opts.keyFile);
    const { cert } = loadEngineCert(opts.certFile);
    // The engine embeds its certificate in the ticket; a bare public key cannot stand in for it.
    if (!cert) throw new ConfigError(`engine certificate ${opts.certFile}: a bare public key; the ticket needs the certificate`);
    if (!cert.checkPrivateKey(key)) {
      throw new ConfigError(`engine certificate ${opts.certFile}: does not match the key in ${opts.keyFile}`);
    }
    const ticket = signTicket({
      keyPem: key.export({ type: "pkcs8", format: "pem" }) as string,
      certPem: cert.toString(),
      host: opts.host,
      port: opts.port,
      sslTarget: opts.sslTarget,
      viewOnly: opts.viewOnly,
      lifetimeSeconds: opts.lifetimeSeconds,
      order: opts.order,
    });
    process.stdout.write(ticket + "\n");
  },
});
