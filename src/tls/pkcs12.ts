/**
 * PKCS#12 keystores (engine.p12, websocket-proxy.p12) -> key + certificate chain, by alias.
 * node-forge does the ASN.1 and the PBE (OpenSSL 3 AES-256/PBKDF2/HMAC-SHA256, -legacy
 * 3DES/RC2/SHA-1, Java keytool); this file finds the bags by type, matches key to certificate
 * with node:crypto and names entries the way Java does, so `--alias 1` finds oVirt's entries.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { ConfigError } from "../errors.ts";
import { readInputFile } from "./read-file.ts";
import { identityFromParts, type TlsIdentity } from "./identity.ts";

/** One private-key entry of a keystore with its certificate chain, leaf first. */
export interface KeystoreEntry {
  /** friendlyName, or Java's generated name ("1", "2", ...) for unnamed key entries. */
  alias: string;
  key: KeyObject;
  leaf: X509Certificate;
  /** Issuers of the leaf found in the keystore, nearest first (may be empty). */
  chain: X509Certificate[];
}

/** What a keystore holds: its key entries and the aliases of certificate-only entries. */
export interface KeystoreContents {
  entries: KeystoreEntry[];
  certOnlyAliases: string[];
}

const JKS_MAGIC = 0xfeedfeed;
const JCEKS_MAGIC = 0xcececece;

type Bag = forge.pkcs12.Bag & { asn1?: forge.asn1.Asn1 };

function convertHint(file: string): string {
  return (
    `convert it first: keytool -importkeystore -srckeystore ${file} -srcstoretype JKS ` +
    `-destkeystore ${file}.p12 -deststoretype PKCS12`
  );
}

/** Refuses, with a helpful line, anything that is not DER PKCS#12 before forge sees it. */
function checkFormat(bytes: Buffer, file: string): void {
  if (bytes.length === 0) throw new ConfigError(`keystore ${file}: empty file, not a keystore`);
  if (bytes.length >= 4) {
    const magic = bytes.readUInt32BE(0);
    if (magic === JKS_MAGIC) {
      throw new ConfigError(`keystore ${file}: Java JKS keystores are not read directly; ${convertHint(file)}`);
    }
    if (magic === JCEKS_MAGIC) {
      throw new ConfigError(`keystore ${file}: Java JCEKS keystores are not read directly; ${convertHint(file).replace("JKS", "JCEKS")}`);
    }
  }
  const head = bytes.subarray(0, 4096).toString("latin1");
  if (head.includes("-----BEGIN ")) {
    throw new ConfigError(`keystore ${file}: this is a PEM file, not a PKCS#12 keystore (serve takes PEM with --cert/--key)`);
  }
  if (bytes[0] !== 0x30) throw new ConfigError(`keystore ${file}: not a PKCS#12 keystore`);
  const declared = outerLength(bytes);
  if (declared !== null && declared > bytes.length) {
    throw new ConfigError(`keystore ${file}: not a PKCS#12 keystore, or the file is corrupt (truncated)`);
  }
}

/** Total size the outer DER SEQUENCE header announces; null for indefinite (BER) length. */
function outerLength(bytes: Buffer): number | null {
  const first = bytes[1];
  if (first === undefined) return Number.MAX_SAFE_INTEGER;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0) return null;
  if (n > 4 || bytes.length < 2 + n) return Number.MAX_SAFE_INTEGER;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + bytes[2 + i]!;
  return 2 + n + len;
}

/**
 * Runs forge's PKCS#12 decoder with three adjustments, undone when this synchronous call ends:
 * - forge's certificate/key objects know only RSA and would re-encode certificates, so its two
 *   converters decline and every bag keeps its raw ASN.1 (EC keys work, bytes stay exact);
 * - PBES2's PBKDF2 gets the password as UTF-8 bytes, as OpenSSL and Java use it (forge would
 *   take the low byte of each character; the PKCS#12 MAC/KDF path already uses BMPString).
 */
function decodePfx(der: string, password: string): forge.pkcs12.Pkcs12Pfx {
  const asn = forge.asn1.fromDer(der, { strict: false, parseAllBytes: true } as never);
  const pki = forge.pki as unknown as Record<string, unknown>;
  const pkcs5 = forge.pkcs5 as unknown as Record<string, unknown>;
  const certFromAsn1 = pki.certificateFromAsn1;
  const keyFromAsn1 = pki.privateKeyFromAsn1;
  const pbkdf2 = pkcs5.pbkdf2 as (p: string, ...rest: unknown[]) => unknown;
  const decline = () => {
    throw new Error("keep raw ASN.1");
  };
  pki.certificateFromAsn1 = decline;
  pki.privateKeyFromAsn1 = decline;
  pkcs5.pbkdf2 = (p: string, ...rest: unknown[]) => pbkdf2(forge.util.encodeUtf8(p), ...rest);
  try {
    return forge.pkcs12.pkcs12FromAsn1(asn, false, password);
  } finally {
    pki.certificateFromAsn1 = certFromAsn1;
    pki.privateKeyFromAsn1 = keyFromAsn1;
    pkcs5.pbkdf2 = pbkdf2;
  }
}

/** forge's error -> the one line the user reads (never the password). */
function explainDecodeError(err: unknown, file: string): ConfigError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/MAC could not be verified|wrong password|Failed to decrypt/i.test(msg)) {
    return new ConfigError(`keystore ${file}: wrong password (the keystore's integrity check failed)`);
  }
  if (/unsupported|Unsupported/.test(msg)) {
    return new ConfigError(`keystore ${file}: unsupported PKCS#12 algorithm (${msg.replace(/\s+/g, " ").slice(0, 120)})`);
  }
  if (/Too few bytes|Cannot read PFX|not a|Unparsed DER|expected|Cannot read/i.test(msg)) {
    return new ConfigError(`keystore ${file}: not a PKCS#12 keystore, or the file is corrupt`);
  }
  return new ConfigError(`keystore ${file}: cannot be read as PKCS#12 (corrupt file?)`);
}

function bagDer(bag: Bag): Buffer | null {
  if (!bag.asn1) return null;
  return Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), "binary");
}

function friendlyName(bag: Bag): string | undefined {
  const name = bag.attributes?.friendlyName?.[0];
  return typeof name === "string" && name.length > 0 ? name : undefined;
}

function localKeyId(bag: Bag): string | undefined {
  const id = bag.attributes?.localKeyId?.[0];
  return typeof id === "string" && id.length > 0 ? id : undefined;
}

/** Issuers of `leaf` among `pool`, following issuer -> subject with a signature check. */
function buildChain(leaf: X509Certificate, pool: X509Certificate[]): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = leaf;
  const used = new Set<X509Certificate>([leaf]);
  for (;;) {
    if (current.issuer === current.subject) break; // self-signed: end of chain
    const next = pool.find((c) => !used.has(c) && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next) break;
    chain.push(next);
    used.add(next);
    current = next;
  }
  return chain;
}

/**
 * Opens a PKCS#12 keystore and lists its key entries. ConfigError (one line, naming the file)
 * for: missing/unreadable, empty, JKS/JCEKS (with the keytool command to convert), PEM or other
 * non-PKCS#12 content, wrong password, unsupported algorithm.
 */
export function readKeystore(file: string, password: string): KeystoreContents {
  const bytes = readInputFile(file, "keystore");
  checkFormat(bytes, file);
  let pfx: forge.pkcs12.Pkcs12Pfx;
  try {
    pfx = decodePfx(bytes.toString("binary"), password);
  } catch (err) {
    throw explainDecodeError(err, file);
  }

  const certBags: { bag: Bag; cert: X509Certificate }[] = [];
  const keyBags: { bag: Bag; key: KeyObject }[] = [];
  for (const safe of pfx.safeContents) {
    for (const bag of safe.safeBags as Bag[]) {
      const der = bagDer(bag);
      if (!der) continue;
      if (bag.type === forge.pki.oids.certBag) {
        try {
          certBags.push({ bag, cert: new X509Certificate(der) });
        } catch {
          throw new ConfigError(`keystore ${file}: a certificate in the keystore cannot be parsed`);
        }
      } else if (bag.type === forge.pki.oids.keyBag || bag.type === forge.pki.oids.pkcs8ShroudedKeyBag) {
        try {
          keyBags.push({ bag, key: createPrivateKey({ key: der, format: "der", type: "pkcs8" }) });
        } catch {
          throw new ConfigError(`keystore ${file}: a private key in the keystore cannot be parsed (unsupported key type?)`);
        }
      }
    }
  }

  const pool = certBags.map((c) => c.cert);
  const usedCerts = new Set<X509Certificate>();
  const entries: KeystoreEntry[] = [];
  let unnamed = 0;
  for (const { bag, key } of keyBags) {
    // Prefer the certificate with the same localKeyId, but only trust it if the key fits.
    const id = localKeyId(bag);
    const byId = id ? certBags.find((c) => localKeyId(c.bag) === id && c.cert.checkPrivateKey(key)) : undefined;
    const match = byId ?? certBags.find((c) => c.cert.checkPrivateKey(key));
    if (!match) {
      throw new ConfigError(`keystore ${file}: a private key has no matching certificate in the keystore`);
    }
    usedCerts.add(match.cert);
    // Java names a key entry without friendlyName by a counter: the first one is "1".
    const alias = friendlyName(bag) ?? friendlyName(match.bag) ?? String(++unnamed);
    const chain = buildChain(match.cert, pool);
    chain.forEach((c) => usedCerts.add(c));
    entries.push({ alias, key, leaf: match.cert, chain });
  }
  const certOnlyAliases = certBags
    .filter((c) => !usedCerts.has(c.cert))
    .map((c) => friendlyName(c.bag))
    .filter((n): n is string => n !== undefined);
  return { entries, certOnlyAliases };
}

/**
 * The entry `alias` names (case-insensitive, as Java's keystores are), or the only key entry
 * when no alias is given. Errors list the aliases so the user can pick one.
 */
export function selectEntry(contents: KeystoreContents, file: string, alias?: string): KeystoreEntry {
  const names = contents.entries.map((e) => e.alias);
  const list = names.length > 0 ? names.map((n) => JSON.stringify(n)).join(", ") : "none";
  if (alias === undefined) {
    if (contents.entries.length === 1) return contents.entries[0]!;
    if (contents.entries.length === 0) {
      throw new ConfigError(`keystore ${file}: no private key in the keystore (certificates only)`);
    }
    throw new ConfigError(`keystore ${file}: several key entries, choose one with --alias: ${list}`);
  }
  const found =
    contents.entries.find((e) => e.alias === alias) ??
    contents.entries.find((e) => e.alias.toLowerCase() === alias.toLowerCase());
  if (found) return found;
  if (contents.certOnlyAliases.some((a) => a.toLowerCase() === alias.toLowerCase())) {
    throw new ConfigError(`keystore ${file}: entry ${JSON.stringify(alias)} has no private key (certificate only)`);
  }
  throw new ConfigError(`keystore ${file}: alias ${JSON.stringify(alias)} not found; key entries: ${list}`);
}

/** Opens a keystore and picks one entry: what `export-cert` and `serve --keystore` share. */
export function loadKeystoreEntry(file: string, password: string, alias?: string): KeystoreEntry {
  return selectEntry(readKeystore(file, password), file, alias);
}

/**
 * `serve --keystore FILE --password P [--alias A]`: the TLS identity straight from the
 * engine's PKCS#12, so no unencrypted key needs to exist on disk.
 */
export function loadKeystoreIdentity(file: string, password: string, alias?: string): TlsIdentity {
  const entry = loadKeystoreEntry(file, password, alias);
  return identityFromParts([entry.leaf, ...entry.chain], entry.key, file);
}
