/**
 * The plain-ticket downgrade guard, on the server -> browser path: it watches the server's
 * opening (version, security types; at most SNIFF_LIMIT bytes copied) and fails when the server
 * offers only VeNCrypt although the ticket says plain (the engine and the host disagree). It
 * never holds or changes a byte, and is done as soon as it has decided.
 */
import { CLOSE } from "../close.ts";
import { readSecurityOffer, requiresTls } from "../../rfb/security-offer.ts";
import type { Stage, StageFailure } from "./stage.ts";

/** How many opening bytes are looked at (version + count + types). */
export const SNIFF_LIMIT = 64;

export class DowngradeGuard implements Stage {
  private seen: Uint8Array | null = new Uint8Array(0);

  get done(): boolean {
    return this.seen === null;
  }

  feed(bytes: Uint8Array): Uint8Array | StageFailure {
    const prev = this.seen;
    if (prev === null) return bytes;
    const next = new Uint8Array(Math.min(prev.length + bytes.length, SNIFF_LIMIT));
    next.set(prev);
    next.set(bytes.subarray(0, next.length - prev.length), prev.length);
    const offer = readSecurityOffer(next);
    if (offer.kind === "need-more" && next.length < SNIFF_LIMIT) {
      this.seen = next;
      return bytes;
    }
    this.seen = null;
    if (offer.kind === "types" && requiresTls(offer.types)) {
      return { fail: true, code: CLOSE.INTERNAL, reason: "Ticket says plain VNC but the server requires TLS", outcome: "protocol_error" };
    }
    return bytes;
  }
}
