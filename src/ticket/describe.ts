/**
 * What `novnc-proxy ticket inspect` shows: a ticket's decoded fields, its validity times and the
 * verdict, as plain lines. Pure (the clock, key and hash come in), and it never prints anything
 * secret: not the ticket, not the signature, not a KubeVirt token.
 */
import type { KeyObject } from "node:crypto";
import { printable } from "../printable.ts";
import { decodeTicket } from "./decode.ts";
import { verifyTicket } from "./verify.ts";

export interface DescribeOptions {
  /** The engine's public key; null when none was given (the signature is then not checked). */
  engineKey: KeyObject | null;
  now: Date;
  skewSeconds: number;
  /** A short hash of the ticket for correlating with log lines (`ticketHash` in hash.ts). */
  hash: string;
}

export interface TicketDescription {
  /** The ticket decodes and its shapes are right. */
  decoded: boolean;
  /** It also passed signature and time checks (always false without an engine key). */
  valid: boolean;
  /** Why it is not valid, when it was checked and failed, or did not decode. */
  reason: string | null;
  lines: string[];
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}

/** Human wording of where `now` sits relative to the window (without skew). */
export function timeLeft(validFrom: Date, validTo: Date, now: Date): string {
  const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
  if (now.getTime() < validFrom.getTime()) return `not valid for another ${secs(validFrom.getTime() - now.getTime())}`;
  if (now.getTime() > validTo.getTime()) return `expired ${secs(now.getTime() - validTo.getTime())} ago`;
  return `${secs(validTo.getTime() - now.getTime())} left`;
}

/**
 * Describes a ticket for a human.
 *
 * @param raw the ticket text
 * @param opts engine key (or null), clock, skew and the ticket's hash
 */
export function describeTicket(raw: string, opts: DescribeOptions): TicketDescription {
  const row = (name: string, value: string) => `${name.padEnd(13)} ${value}`;
  const decoded = decodeTicket(raw);
  if (!decoded.ok) {
    return {
      decoded: false,
      valid: false,
      reason: decoded.reason,
      lines: [row("ticket hash", opts.hash), row("verdict", `invalid: ${decoded.reason}`)],
    };
  }
  const t = decoded.fields;
  const lines = [
    row("host", t.target.host),
    row("port", String(t.target.port)),
    row("ssl_target", String(t.target.sslTarget)),
  ];
  if (t.target.path !== null) lines.push(row("path", printable(t.target.path, 200)));
  if (t.target.token !== null) lines.push(row("token", "(present, not shown)"));
  if (t.target.viewOnly) lines.push(row("view_only", "true"));
  lines.push(
    row("validFrom", iso(t.validFrom)),
    row("validTo", iso(t.validTo)),
    row("time", timeLeft(t.validFrom, t.validTo, opts.now)),
    row("signedFields", `${t.signedFields.join(",")} (${t.order} order)`),
  );
  if (t.digest !== null) lines.push(row("digest", `${t.digest} (4.4-era legacy signature present: ${t.hasLegacySignature})`));
  lines.push(row("certificate", t.hasCertificate ? "embedded (never used for verification)" : "none"));
  lines.push(row("ticket hash", opts.hash));

  if (opts.engineKey === null) {
    lines.push(row("verdict", "decodes; signature not checked (no --engine-cert)"));
    return { decoded: true, valid: false, reason: null, lines };
  }
  const verdict = verifyTicket(raw, { engineKey: opts.engineKey, now: opts.now, skewSeconds: opts.skewSeconds });
  lines.push(row("verdict", verdict.ok ? "valid" : `invalid: ${verdict.reason}`));
  return { decoded: true, valid: verdict.ok, reason: verdict.ok ? null : verdict.reason, lines };
}
