/**
 * The oVirt engine's signing key pair, read the one way `serve`, `check-config` and `ticket` all
 * share, so they accept the same files. engine-setup writes them in several shapes: `engine.cer`
 * as PEM with openssl's text dump before it (`openssl x509 -text`), or DER; `engine.key.nopass`
 * as PKCS#8 or PKCS#1, often with PKCS#12 "Bag Attributes" lines before the block. Anything
 * outside the PEM blocks is ignored. Errors are one ConfigError line naming the file.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from "node:crypto";
import { ConfigError } from "../errors.ts";
import { isCertificateLabel, isPrivateKeyLabel, oneLineName, splitPem } from "./pem.ts";
import { readInputFile, readInputText } from "./read-file.ts";

/** What verifies the engine's ticket signatures. */
export interface EngineCert {
  /** The certificate; absent when the file held a bare public key. */
  cert?: X509Certificate;
  /** The public key that verifies signatures. */
  key: KeyObject;
  /** Certificate subject on one line, or "public key" for a bare key (start-up line). */
  subject: string;
  /** Certificate expiry, or null for a bare public key. */
  notAfter: Date | null;
}

const CERT_ROLE = "engine certificate";
const KEY_ROLE = "engine key";

/**
 * Engine certificate (oVirt's CERT_FOR_DATA_VERIFICATION): the first PEM certificate in the file
 * (text around it ignored), a DER certificate, or a PEM `PUBLIC KEY`.
 */
export function loadEngineCert(file: string): EngineCert {
  const bytes = readInputFile(file, CERT_ROLE);
  const blocks = splitPem(bytes.toString("utf8"));
  const certBlock = blocks.find((b) => isCertificateLabel(b.label));
  if (certBlock) return fromCert(parse(() => new X509Certificate(certBlock.text), file, "the certificate cannot be parsed"));
  const pubBlock = blocks.find((b) => b.label === "PUBLIC KEY" || b.label === "RSA PUBLIC KEY");
  if (pubBlock) {
    const key = parse(() => createPublicKey(pubBlock.text), file, "the public key cannot be parsed");
    return { key, subject: "public key", notAfter: null };
  }
  if (blocks.length === 0) {
    try {
      return fromCert(new X509Certificate(bytes));
    } catch {
      // not DER either: fall through to the one message below
    }
  }
  throw new ConfigError(`${CERT_ROLE} ${file}: no certificate in file`);
}

/**
 * The engine's private key (`ticket` signs with it): the first private-key block, PKCS#8 or
 * PKCS#1, unencrypted, RSA (the engine signs with RSASSA-PSS).
 */
export function loadEngineSigningKey(file: string): KeyObject {
  const block = splitPem(readInputText(file, KEY_ROLE)).find((b) => isPrivateKeyLabel(b.label));
  if (!block) throw new ConfigError(`${KEY_ROLE} ${file}: no private key in file`);
  if (block.encrypted) {
    throw new ConfigError(`${KEY_ROLE} ${file}: the key is password-protected; export it without a password (openssl pkey -in ${file} -out KEY.nopass)`);
  }
  const key = parse(() => createPrivateKey(block.text), file, "the private key cannot be parsed", KEY_ROLE);
  if (key.asymmetricKeyType !== "rsa") throw new ConfigError(`${KEY_ROLE} ${file}: not an RSA key (the engine signs with RSA)`);
  return key;
}

function fromCert(cert: X509Certificate): EngineCert {
  return { cert, key: cert.publicKey, subject: oneLineName(cert.subject), notAfter: cert.validToDate };
}

function parse<T>(make: () => T, file: string, problem: string, role = CERT_ROLE): T {
  try {
    return make();
  } catch {
    throw new ConfigError(`${role} ${file}: ${problem}`);
  }
}
