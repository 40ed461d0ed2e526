/**
 * The engine's own origins, so a literal drop-in admits consoles opened from the engine's pages
 * with no origin setting: `https://NAME` for the engine certificate's subject CN and each DNS/IP
 * subjectAltName (engine-setup issues engine.cer to the engine's FQDN), plus ENGINE_FQDN and
 * SSO_ALTERNATE_ENGINE_FQDNS from the engine's engine.conf.d. Pure: takes a parsed certificate
 * and parsed config values.
 */
import type { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { originSpecKey } from "../policy/origin.ts";
import type { ConfEntry } from "./ovirt-conf.ts";

/** One effective origin and where it came from. */
export interface SourcedOrigin {
  origin: string;
  source: string;
}

/** `https://NAME`, IPv6 in brackets, or null when NAME is not a host name or address. */
function httpsOrigin(name: string): string | null {
  const host = isIP(name) === 6 ? `[${name}]` : name.toLowerCase();
  const origin = `https://${host}`;
  return originSpecKey(origin) ? origin : null;
}

/** IPv6 SANs come as 8 full groups (`0:0:0:0:0:0:0:1`); the origin needs the short form. */
function shortIp(text: string): string {
  if (isIP(text) !== 6) return text;
  return new URL(`http://[${text}]`).hostname.replace(/^\[|\]$/g, "");
}

/** Origins from the engine certificate's subject CN and DNS/IP subjectAltNames. */
export function originsFromCertificate(cert: X509Certificate, file: string): SourcedOrigin[] {
  const out: SourcedOrigin[] = [];
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1]?.trim();
  if (cn) out.push(...named(cn, `CN of ${file}`));
  for (const part of (cert.subjectAltName ?? "").split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (m) out.push(...named(m[1] === "DNS" ? m[2]! : shortIp(m[2]!), `${m[1] === "DNS" ? "DNS" : "IP"} name in ${file}`));
  }
  return out;
}

/** Origins from ENGINE_FQDN and SSO_ALTERNATE_ENGINE_FQDNS (space separated) of engine.conf.d. */
export function originsFromEngineConf(values: ReadonlyMap<string, ConfEntry>): SourcedOrigin[] {
  const out: SourcedOrigin[] = [];
  for (const key of ["ENGINE_FQDN", "SSO_ALTERNATE_ENGINE_FQDNS"]) {
    const e = values.get(key);
    if (!e) continue;
    for (const name of e.value.split(/[\s,]+/).filter(Boolean)) out.push(...named(name, `${key} at ${e.file}:${e.line}`));
  }
  return out;
}

function named(name: string, source: string): SourcedOrigin[] {
  const origin = httpsOrigin(name);
  return origin ? [{ origin, source }] : [];
}

/** The first source of each origin, in order. */
export function uniqueOrigins(list: SourcedOrigin[]): SourcedOrigin[] {
  const seen = new Set<string>();
  return list.filter((o) => {
    const key = originSpecKey(o.origin)!;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
