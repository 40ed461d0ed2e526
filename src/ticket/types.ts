/**
 * Shapes shared by the ticket modules and their callers (the upgrade handler, the `ticket`
 * command). Pure types: no runtime code lives here.
 */

/** Where a verified ticket says the browser may be relayed to (the ticket's `data` payload). */
export interface TicketTarget {
  host: string;
  port: number;
  /** The VNC server speaks VeNCrypt/x509: the proxy must terminate TLS (spec section 6). */
  sslTarget: boolean;
  /** KubeVirt only: the target is itself a websocket at this path. */
  path: string | null;
  /** KubeVirt only: a bearer token for that websocket. A secret: never log it. */
  token: string | null;
  /** Our extension (`view_only` in the signed data): the proxy drops the browser's input. */
  viewOnly: boolean;
}

/** A ticket whose shape, engine signature and time window all checked out. */
export interface VerifiedTicket {
  target: TicketTarget;
  validFrom: Date;
  validTo: Date;
  salt: string;
  /** The `v2_signature` (base64); unique per ticket, so it serves as the single-use id. */
  signature: string;
}

/**
 * Outcome of verifying a ticket; `reason` is short, ASCII and never quotes the ticket.
 * `outsideWindow`: genuine, but not valid now (too early or expired); `expired`: too late.
 */
export type TicketResult =
  | { ok: true; ticket: VerifiedTicket }
  | { ok: false; reason: string; expired?: boolean; outsideWindow?: boolean };

/** The signed-field orders real encoders produce (spec section 2). */
export type SignedFieldOrder = "java" | "java-4.4" | "python";

/** The orders, as field lists, that we accept; anything else is a field-shift risk. */
export const SIGNED_FIELD_ORDERS: Readonly<Record<SignedFieldOrder, readonly string[]>> = {
  java: ["salt", "data", "validFrom", "validTo"],
  "java-4.4": ["salt", "data", "digest", "validFrom", "validTo"],
  python: ["salt", "validFrom", "validTo", "data"],
};

/** Everything `decodeTicket` read from a well-formed ticket, before any crypto. */
export interface DecodedTicket {
  salt: string;
  /** `validFrom` exactly as sent (14 digits, UTC). */
  validFromRaw: string;
  validToRaw: string;
  validFrom: Date;
  validTo: Date;
  /** The `data` field as sent (percent-encoded JSON). */
  data: string;
  target: TicketTarget;
  signedFields: readonly string[];
  order: SignedFieldOrder;
  /** `"sha1"` in 4.4-era tickets, else null. */
  digest: string | null;
  /** The RSASSA-PSS signature, base64 as sent. */
  v2Signature: string;
  /** Whether the ticket carries a legacy PKCS#1 v1.5 `signature` (ignored for verification). */
  hasLegacySignature: boolean;
  /** Whether the ticket carries an embedded `certificate` (ignored for verification). */
  hasCertificate: boolean;
  /** The signed message: the values of `signedFields`, in order, joined with no separator. */
  signedMessage: string;
}
