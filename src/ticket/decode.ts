/**
 * Strict, crypto-free reading of an oVirt console ticket (spec section 2 and 3).
 *
 * Upstream lets the ticket choose which fields are signed and joins them without separators, so
 * field boundaries can be shifted to re-use an old signature. We close that by accepting only
 * the known signed-field lists and strict shapes for every signed value, before any signature
 * is checked. Every failure is a tagged result with a short reason that never quotes the input.
 */
import { SIGNED_FIELD_ORDERS, type DecodedTicket, type SignedFieldOrder, type TicketTarget } from "./types.ts";

export type { DecodedTicket } from "./types.ts";

/** Longest ticket we look at (raw base64 characters). Real ones are about 3-4 KiB. */
export const MAX_TICKET_LENGTH = 16 * 1024;

/** A websocket target's path: starts with `/`, visible ASCII (no space, CR or LF), bounded. */
const WEBSOCKET_PATH = /^\/[\x21-\x7e]{0,2047}$/;

/** Longest host name we accept from `data` (DNS names are at most 253 characters). */
const MAX_HOST_LENGTH = 255;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const STAMP = /^[0-9]{14}$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;
const PORT_STRING = /^[1-9][0-9]{0,4}$/;

export type DecodeResult = { ok: true; fields: DecodedTicket } | { ok: false; reason: string };

function fail(what: string): { ok: false; reason: string } {
  return { ok: false, reason: `malformed ticket: ${what}` };
}

/** Bytes of strict, canonical, padded standard base64, or null. */
function strictBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, "base64");
  // Canonical only: non-zero padding bits would give one ticket several spellings.
  if (bytes.toString("base64") !== text) return null;
  return bytes;
}

/** A `yyyyMMddHHmmss` UTC stamp as a Date, or null unless it names a real instant. */
export function parseStamp(text: string): Date | null {
  if (!STAMP.test(text)) return null;
  const n = (from: number, to: number) => Number(text.slice(from, to));
  const [y, mo, d, h, mi, s] = [n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const same =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return same ? date : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function orderOf(signedFields: string): SignedFieldOrder | null {
  for (const [name, fields] of Object.entries(SIGNED_FIELD_ORDERS) as [SignedFieldOrder, readonly string[]][]) {
    if (signedFields === fields.join(",")) return name;
  }
  return null;
}

function optionalString(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : undefined;
}

/** The target inside `data` (percent-encoded JSON), or a reason. */
function decodeData(data: string): { ok: true; target: TicketTarget } | { ok: false; reason: string } {
  if (!PRINTABLE_ASCII.test(data)) return fail("data");
  let json: unknown;
  try {
    json = JSON.parse(decodeURIComponent(data));
  } catch {
    return fail("data");
  }
  if (!isPlainObject(json)) return fail("data");
  const host = own(json, "host");
  if (typeof host !== "string" || host.length === 0 || host.length > MAX_HOST_LENGTH || !PRINTABLE_ASCII.test(host)) {
    return fail("host");
  }
  const rawPort = own(json, "port");
  let port: number;
  if (typeof rawPort === "string" && PORT_STRING.test(rawPort)) port = Number(rawPort);
  else if (typeof rawPort === "number" && Number.isInteger(rawPort)) port = rawPort;
  else return fail("port");
  if (port < 1 || port > 65535) return fail("port");
  const sslTarget = own(json, "ssl_target");
  if (typeof sslTarget !== "boolean") return fail("ssl_target");
  const path = optionalString(own(json, "path"));
  if (path === undefined) return fail("path");
  // The path goes into an HTTP request line: an absolute path of visible ASCII only.
  if (path !== null && !WEBSOCKET_PATH.test(path)) return fail("path");
  const token = optionalString(own(json, "token"));
  if (token === undefined) return fail("token");
  const viewOnly = own(json, "view_only") ?? false;
  if (typeof viewOnly !== "boolean") return fail("view_only");
  return { ok: true, target: { host, port, sslTarget, path, token, viewOnly } };
}

/**
 * Reads a ticket's fields and checks their shapes; no signature or clock is involved.
 *
 * @param raw the ticket: standard padded base64 of a UTF-8 JSON object
 * @returns the decoded fields, or `{ ok: false, reason }`; never throws
 */
export function decodeTicket(raw: string): DecodeResult {
  if (typeof raw !== "string" || raw.length === 0) return fail("empty");
  if (raw.length > MAX_TICKET_LENGTH) return fail("too long");
  const bytes = strictBase64(raw);
  if (bytes === null) return fail("not base64");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return fail("not JSON");
  }
  if (!isPlainObject(json)) return fail("not a JSON object");
  for (const value of Object.values(json)) {
    if (typeof value !== "string") return fail("non-string field");
  }
  const str = (key: string) => own(json, key) as string | undefined;

  const signedFields = str("signedFields");
  if (signedFields === undefined) return fail("no signedFields");
  const order = orderOf(signedFields);
  if (order === null) return fail("signedFields");

  const digest = str("digest") ?? null;
  if (order === "java-4.4" ? digest !== "sha1" : digest !== null) return fail("digest");

  const salt = str("salt");
  if (salt === undefined || salt.length !== 12 || strictBase64(salt)?.length !== 8) return fail("salt");

  const validFromRaw = str("validFrom");
  const validFrom = validFromRaw === undefined ? null : parseStamp(validFromRaw);
  if (validFromRaw === undefined || validFrom === null) return fail("validFrom");
  const validToRaw = str("validTo");
  const validTo = validToRaw === undefined ? null : parseStamp(validToRaw);
  if (validToRaw === undefined || validTo === null) return fail("validTo");
  if (validFrom.getTime() > validTo.getTime()) return fail("validFrom after validTo");

  const data = str("data");
  if (data === undefined) return fail("data");
  const target = decodeData(data);
  if (!target.ok) return target;

  const v2Signature = str("v2_signature");
  if (v2Signature === undefined) return fail("no v2_signature");
  const sigBytes = strictBase64(v2Signature);
  if (sigBytes === null || sigBytes.length === 0) return fail("v2_signature");

  const values: Record<string, string> = { salt, data, validFrom: validFromRaw, validTo: validToRaw };
  if (digest !== null) values.digest = digest;
  const fields = SIGNED_FIELD_ORDERS[order];
  return {
    ok: true,
    fields: {
      salt,
      validFromRaw,
      validToRaw,
      validFrom,
      validTo,
      data,
      target: target.target,
      signedFields: fields,
      order,
      digest,
      v2Signature,
      hasLegacySignature: str("signature") !== undefined,
      hasCertificate: str("certificate") !== undefined,
      signedMessage: fields.map((name) => values[name]).join(""),
    },
  };
}
