/**
 * The name a ticket goes by in logs and `ticket inspect`: a short SHA-256 hash, so lines can be
 * correlated without ever containing the secret. It is taken over the ticket's signature, not
 * its text: the unsigned outer fields (e.g. `certificate`) can be changed and the ticket
 * re-encoded, and such a copy must keep the same name. Text without a signature (an unsigned
 * target cookie, a malformed ticket) is hashed as it is.
 */
import { createHash } from "node:crypto";
import { MAX_TICKET_LENGTH } from "./decode.ts";

const shortHash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** The `v2_signature` of a ticket's base64 JSON, or null when there is none to read. */
function signatureOf(ticket: string): string | null {
  if (ticket.length > MAX_TICKET_LENGTH) return null;
  try {
    const obj: unknown = JSON.parse(Buffer.from(ticket, "base64").toString("utf8"));
    const sig = typeof obj === "object" && obj !== null && !Array.isArray(obj) ? (obj as Record<string, unknown>).v2_signature : undefined;
    return typeof sig === "string" && sig !== "" ? sig : null;
  } catch {
    return null;
  }
}

/** Short, stable, non-reversible name of a ticket (of its signature when it has one). */
export function ticketHash(ticket: string): string {
  const sig = signatureOf(ticket);
  return sig === null ? shortHash(ticket) : shortHash(`v2_signature:${sig}`);
}
