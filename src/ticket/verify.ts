/**
 * Ticket verification in the order the spec demands: strict shapes (decode.ts), then the engine's
 * RSASSA-PSS signature, then the validity window with a small clock skew. The key is always the
 * engine's, configured on the proxy; the `certificate` inside a ticket is never trusted.
 */
import { constants, verify, type KeyObject } from "node:crypto";
import { decodeTicket } from "./decode.ts";
import type { TicketResult } from "./types.ts";

export interface VerifyOptions {
  /** The engine's public key (`CERT_FOR_DATA_VERIFICATION`), e.g. `new X509Certificate(pem).publicKey`. */
  engineKey: KeyObject;
  /** The current time, injected so tests and callers control the clock. */
  now: Date;
  /** Seconds a remote engine's clock may differ from ours; negative or NaN counts as 0. */
  skewSeconds: number;
}

/** Checks an RSASSA-PSS (SHA-256, MGF1 SHA-256) signature; any salt length (the engine uses the maximum). */
function pssValid(message: string, signatureB64: string, key: KeyObject): boolean {
  try {
    return verify(
      "sha256",
      Buffer.from(message, "utf8"),
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
      Buffer.from(signatureB64, "base64"),
    );
  } catch {
    return false;
  }
}

/**
 * Decides whether a ticket lets its holder reach its target now.
 *
 * @param raw the ticket as received (already taken out of the path or cookie)
 * @param opts the engine key, the clock and the allowed skew
 * @returns the verified ticket, or a short reason (`expired: true` when only the time ran out)
 */
export function verifyTicket(raw: string, opts: VerifyOptions): TicketResult {
  const decoded = decodeTicket(raw);
  if (!decoded.ok) return decoded;
  const t = decoded.fields;
  if (opts.engineKey.type !== "public" && opts.engineKey.type !== "private") {
    return { ok: false, reason: "engine key unusable" };
  }
  if (opts.engineKey.asymmetricKeyType !== "rsa") return { ok: false, reason: "engine key is not RSA" };
  if (!pssValid(t.signedMessage, t.v2Signature, opts.engineKey)) return { ok: false, reason: "bad signature" };

  const skewMs = Number.isFinite(opts.skewSeconds) && opts.skewSeconds > 0 ? opts.skewSeconds * 1000 : 0;
  const now = opts.now.getTime();
  if (Number.isNaN(now)) return { ok: false, reason: "clock unusable" };
  if (now < t.validFrom.getTime() - skewMs) return { ok: false, reason: "ticket not yet valid", outsideWindow: true };
  if (now > t.validTo.getTime() + skewMs) return { ok: false, reason: "ticket expired", expired: true, outsideWindow: true };

  return {
    ok: true,
    ticket: { target: t.target, validFrom: t.validFrom, validTo: t.validTo, salt: t.salt, signature: t.v2Signature },
  };
}
