/**
 * Minting tickets exactly as the oVirt engine does, for integrators without an engine, the demo
 * and tests: base64 of a JSON object whose `v2_signature` is RSASSA-PSS (SHA-256, MGF1 SHA-256,
 * maximum salt length, which the Java engine requires when it verifies) over the concatenated
 * signed fields. A real ovirt-websocket-proxy accepts what this produces.
 */
import { constants, createPrivateKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { SIGNED_FIELD_ORDERS } from "./types.ts";

/** The engine's default ticket lifetime (`WebSocketProxyTicketValiditySeconds`). */
export const DEFAULT_LIFETIME_SECONDS = 120;

export interface SignTicketOptions {
  /** The engine's private key, PEM (PKCS#8 or PKCS#1, unencrypted). */
  keyPem: string;
  /** The engine's certificate, PEM; embedded as `certificate` like the engine does. */
  certPem: string;
  host: string;
  port: number;
  sslTarget?: boolean;
  /** Our extension: the proxy enforces a read-only console. */
  viewOnly?: boolean;
  /** KubeVirt websocket target: its path and bearer token (oVirt's `path` and `token`). */
  path?: string | null;
  token?: string | null;
  lifetimeSeconds?: number;
  now?: Date;
  /** `java`: salt,data,validFrom,validTo (the engine); `python`: salt,validFrom,validTo,data. */
  order?: "java" | "python";
}

/** A Date as the engine's `yyyyMMddHHmmss` UTC stamp (sub-second part dropped). */
export function formatStamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "").replace(/[-T:]/g, "");
}

/** The signature the engine puts in `v2_signature`, base64. */
export function pssSign(message: string, key: KeyObject): string {
  return sign("sha256", Buffer.from(message, "utf8"), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  }).toString("base64");
}

/** Wraps ticket fields the way the engine does: base64 of the UTF-8 JSON object. */
export function encodeTicket(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields), "utf8").toString("base64");
}

/**
 * Mints a signed ticket for `host:port`.
 *
 * @param opts engine key and certificate (PEM), the target and the validity
 * @returns the ticket, ready for `wss://proxy/<ticket>`
 * @throws RangeError for a bad host, port or lifetime; the crypto error for an unusable key
 */
export function signTicket(opts: SignTicketOptions): string {
  if (opts.host.length === 0 || !/^[\x21-\x7e]+$/.test(opts.host)) throw new RangeError("host must be a non-empty name or address");
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new RangeError("port must be an integer 1-65535");
  const lifetime = opts.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!Number.isInteger(lifetime) || lifetime < 1) throw new RangeError("lifetime must be a positive whole number of seconds");
  const key = createPrivateKey(opts.keyPem);
  if (key.asymmetricKeyType !== "rsa") throw new RangeError("the engine key must be an RSA key");

  const now = opts.now ?? new Date();
  const values: Record<string, string> = {
    salt: randomBytes(8).toString("base64"),
    validFrom: formatStamp(now),
    validTo: formatStamp(new Date(now.getTime() + lifetime * 1000)),
    data: encodeURIComponent(
      JSON.stringify({
        host: opts.host,
        port: String(opts.port),
        ssl_target: opts.sslTarget ?? false,
        ...(opts.path != null ? { path: opts.path, token: opts.token ?? null } : {}),
        ...(opts.viewOnly ? { view_only: true } : {}),
      }),
    ),
  };
  const signedFields = SIGNED_FIELD_ORDERS[opts.order ?? "java"];
  const message = signedFields.map((name) => values[name]).join("");
  return encodeTicket({
    ...values,
    signedFields: signedFields.join(","),
    v2_signature: pssSign(message, key),
    certificate: opts.certPem,
  });
}
