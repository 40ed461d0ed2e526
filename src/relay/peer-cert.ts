/**
 * Checks on a TLS peer's certificate shared by the connectors that dial TLS targets (VeNCrypt
 * VNC servers, websocket targets), and a short error text fit for a close reason.
 */
import type { Socket } from "bun";
import { isIP } from "node:net";
import { printable } from "../printable.ts";

/** Does the leaf certificate name `host`? IPs must be an IP SAN, names a DNS SAN (or CN). */
export function certNamesHost(sock: Socket<undefined>, host: string): boolean {
  const cert = sock.getPeerX509Certificate();
  if (!cert) return false;
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return isIP(bare) ? cert.checkIP(bare) !== undefined : cert.checkHost(bare) !== undefined;
}

/** A short, secret-free description of a TLS/socket error for a close reason. */
export function shortError(err: unknown): string {
  if (!err) return "connection closed";
  const e = err as { code?: string; message?: string };
  const text = e.code ?? e.message ?? String(err);
  return printable((text.split("\n")[0] ?? "").trim(), 60) || "error";
}
