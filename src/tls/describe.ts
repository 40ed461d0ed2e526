/**
 * Human descriptions of keys and certificates for `export-cert` output and start-up lines.
 * Only public facts: never key material.
 */
import type { KeyObject, X509Certificate } from "node:crypto";
import { oneLineName } from "./pem.ts";

const CURVE_NAMES: Record<string, string> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/** "RSA 2048", "EC P-256", "Ed25519"... */
export function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? "unknown";
  const d = key.asymmetricKeyDetails ?? {};
  if (type === "rsa" || type === "rsa-pss") return `${type.toUpperCase()} ${d.modulusLength ?? "?"}`;
  if (type === "ec") {
    const curve = d.namedCurve ?? "unknown curve";
    return `EC ${CURVE_NAMES[curve] ?? curve}`;
  }
  if (type === "ed25519") return "Ed25519";
  if (type === "ed448") return "Ed448";
  return type.toUpperCase();
}

/** The facts `export-cert` prints about a certificate. */
export interface CertFacts {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint256: string;
}

export function certFacts(cert: X509Certificate): CertFacts {
  return {
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    fingerprint256: cert.fingerprint256,
  };
}
