/**
 * The certificate + key the proxy serves TLS with, loaded from PEM files (or made in memory for
 * `--self-signed`), checked up front so a bad file stops start-up with one line naming it.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from "node:crypto";
import { statSync } from "node:fs";
import { isIP } from "node:net";
import forge from "node-forge";
import { ConfigError } from "../errors.ts";
import { readInputText } from "./read-file.ts";
import { isCertificateLabel, isPrivateKeyLabel, oneLineName, splitPem } from "./pem.ts";

/** What `Bun.serve({ tls })` needs, plus what the start-up line prints. */
export interface TlsIdentity {
  /** Leaf certificate first, then the rest of the chain, PEM. */
  certPem: string;
  /** Unencrypted private key, PKCS#8 PEM. Never logged. */
  keyPem: string;
  /** Leaf subject on one line, e.g. `CN=engine.example, O=Example`. */
  subject: string;
  notAfter: Date;
  /** SHA-256 of the leaf certificate, `AB:CD:...`. */
  fingerprint256: string;
  /** File name the identity came from, or "self-signed". */
  source: string;
}

/**
 * Builds an identity from already parsed parts (shared with the PKCS#12 loader).
 * `certs[0]` must be the leaf matching `key`.
 */
export function identityFromParts(certs: X509Certificate[], key: KeyObject, source: string): TlsIdentity {
  const leaf = certs[0];
  if (!leaf) throw new ConfigError(`${source}: no certificate`);
  return {
    certPem: certs.map((c) => c.toString().trimEnd() + "\n").join(""),
    keyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    subject: oneLineName(leaf.subject),
    notAfter: leaf.validToDate,
    fingerprint256: leaf.fingerprint256,
    source,
  };
}

/** Parses every CERTIFICATE block of a PEM text; `null` when there is none. */
function parseCertificates(text: string, file: string, role: string): X509Certificate[] | null {
  const blocks = splitPem(text).filter((b) => isCertificateLabel(b.label));
  if (blocks.length === 0) return null;
  return blocks.map((b) => {
    try {
      return new X509Certificate(b.text);
    } catch {
      throw new ConfigError(`${role} ${file}: a certificate in the file cannot be parsed`);
    }
  });
}

/** The one unencrypted private key in a PEM text, with errors naming the file. */
function parsePrivateKey(text: string, file: string, role: string): KeyObject {
  const keys = splitPem(text).filter((b) => isPrivateKeyLabel(b.label));
  const first = keys[0];
  if (!first) throw new ConfigError(`${role} ${file}: no private key in file`);
  if (first.encrypted) {
    throw new ConfigError(
      `${role} ${file}: the private key is password-protected; export it without a password ` +
        `(openssl pkey -in ${file} -out KEY.nopass) or use --keystore`,
    );
  }
  try {
    return createPrivateKey(first.text);
  } catch {
    throw new ConfigError(`${role} ${file}: the private key cannot be parsed`);
  }
}

/**
 * PEM cert + key. `keyFile` undefined => the key is read from the cert file (oVirt's empty
 * SSL_KEY). Throws ConfigError with one line naming the file and the problem: missing,
 * unreadable, no certificate, no private key, password-protected key, key not matching the cert.
 */
export function loadPemIdentity(certFile: string, keyFile?: string): TlsIdentity {
  const certText = readInputText(certFile, "certificate file");
  const certs = parseCertificates(certText, certFile, "certificate file");
  if (!certs) throw new ConfigError(`certificate file ${certFile}: no certificate in file`);

  const key =
    keyFile === undefined
      ? parsePrivateKey(certText, certFile, "certificate file (no --key given, so the key is read from it)")
      : parsePrivateKey(readInputText(keyFile, "key file"), keyFile, "key file");

  // The leaf is the certificate the key belongs to; put it first whatever the file order.
  const leafIndex = certs.findIndex((c) => c.checkPrivateKey(key));
  if (leafIndex < 0) {
    const where = keyFile === undefined ? certFile : `${keyFile} (key) / ${certFile} (certificate)`;
    throw new ConfigError(`${where}: the private key does not match the certificate`);
  }
  const ordered = [certs[leafIndex]!, ...certs.filter((_, i) => i !== leafIndex)];
  return identityFromParts(ordered, key, certFile);
}

/**
 * In-memory self-signed certificate for trying the proxy out (`--self-signed`). `names` are DNS
 * names and/or IP literals for subjectAltName. The RSA key comes from node's native generator
 * (forge's JS keygen takes seconds); forge only assembles and signs the X.509.
 */
export function makeSelfSigned(names: string[]): TlsIdentity {
  const unique = [...new Set(names.map((n) => n.replace(/^\[|\]$/g, "")).filter((n) => n.length > 0))];
  if (unique.length === 0) unique.push("localhost");
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const fPriv = forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString());
  const fPub = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());

  const cert = forge.pki.createCertificate();
  cert.publicKey = fPub;
  // Positive 16-byte serial (top bit cleared).
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString("hex");
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + 30 * 24 * 60 * 60 * 1000);
  const cn = unique[0]!.slice(0, 64);
  const attrs = [
    { name: "commonName", value: cn },
    { name: "organizationName", value: "novnc-proxy self-signed" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: unique.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    },
  ]);
  cert.sign(fPriv, forge.md.sha256.create());
  const x509 = new X509Certificate(forge.pki.certificateToPem(cert));
  return identityFromParts([x509], privateKey, "self-signed");
}

/** Warning text when a key file is group/world readable (serve logs it), else null. */
export function keyFileModeWarning(keyFile: string): string | null {
  if (process.platform === "win32") return null;
  let mode: number;
  try {
    mode = statSync(keyFile).mode & 0o777;
  } catch {
    return null; // loading the key reports missing/unreadable files itself
  }
  if ((mode & 0o077) === 0) return null;
  const octal = mode.toString(8).padStart(4, "0");
  return `key file ${keyFile} is readable by group/others (mode ${octal}); run: chmod 600 ${keyFile}`;
}
