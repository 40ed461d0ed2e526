/**
 * Test helper: a throw-away RSA-2048 engine key and self-signed certificate, made with the
 * `openssl` CLI at test time (so no key material lives in the repository).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface EngineKeys {
  /** PKCS#8 PEM, unencrypted. */
  keyPem: string;
  certPem: string;
  keyFile: string;
  certFile: string;
  /** The temporary directory holding both files; remove it with `removeEngineKeys`. */
  dir: string;
}

/**
 * Makes a fresh key pair and certificate in a new temporary directory.
 *
 * @param cn the certificate's common name
 */
export function makeEngineKeys(cn = "engine.test"): EngineKeys {
  const dir = mkdtempSync(join(tmpdir(), "novnc-proxy-keys-"));
  const keyFile = join(dir, "engine.key.nopass");
  const certFile = join(dir, "engine.cer");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${cn}`],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 },
  );
  return { keyPem: readFileSync(keyFile, "utf8"), certPem: readFileSync(certFile, "utf8"), keyFile, certFile, dir };
}

/** Deletes the directory `makeEngineKeys` created. */
export function removeEngineKeys(keys: EngineKeys): void {
  rmSync(keys.dir, { recursive: true, force: true });
}

/** The shapes engine-setup and admins leave the engine's key pair in, each file made by openssl. */
export interface EngineKeyFiles {
  /** `openssl x509 -text`: the human dump, then the PEM block. */
  certWithText: string;
  certDer: string;
  /** `openssl x509 -pubkey -noout`: a bare SPKI `PUBLIC KEY`. */
  publicKey: string;
  /** `openssl pkcs12 -nokeys`: "Bag Attributes" lines before the certificate. */
  certWithBagAttributes: string;
  /** PKCS#8 `PRIVATE KEY` (what `makeEngineKeys` writes). */
  keyPkcs8: string;
  /** PKCS#1 `RSA PRIVATE KEY`. */
  keyPkcs1: string;
  /** `openssl pkcs12 -nocerts -nodes`, as engine-setup makes engine.key.nopass: "Bag Attributes" first. */
  keyWithBagAttributes: string;
  /** PKCS#8 encrypted with the password "secret". */
  keyEncrypted: string;
}

/** Writes every shape of `keys` into its directory (openssl, so the bytes are the real ones). */
export function writeEngineKeyFiles(keys: EngineKeys): EngineKeyFiles {
  const at = (name: string) => join(keys.dir, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  const p12 = at("engine.p12");
  openssl(["pkcs12", "-export", "-in", keys.certFile, "-inkey", keys.keyFile, "-name", "1", "-passout", "pass:mypass", "-out", p12]);
  const files: EngineKeyFiles = {
    certWithText: at("engine-text.cer"),
    certDer: at("engine.der"),
    publicKey: at("engine.pub"),
    certWithBagAttributes: at("engine-bags.cer"),
    keyPkcs8: keys.keyFile,
    keyPkcs1: at("engine-pkcs1.key"),
    keyWithBagAttributes: at("engine-bags.key.nopass"),
    keyEncrypted: at("engine-enc.key"),
  };
  openssl(["x509", "-in", keys.certFile, "-text", "-out", files.certWithText]);
  openssl(["x509", "-in", keys.certFile, "-outform", "DER", "-out", files.certDer]);
  writeFileSync(files.publicKey, openssl(["x509", "-in", keys.certFile, "-pubkey", "-noout"]));
  openssl(["pkcs12", "-in", p12, "-passin", "pass:mypass", "-nokeys", "-out", files.certWithBagAttributes]);
  openssl(["rsa", "-in", keys.keyFile, "-traditional", "-out", files.keyPkcs1]);
  openssl(["pkcs12", "-in", p12, "-passin", "pass:mypass", "-nocerts", "-nodes", "-out", files.keyWithBagAttributes]);
  openssl(["pkey", "-in", keys.keyFile, "-aes256", "-passout", "pass:secret", "-out", files.keyEncrypted]);
  return files;
}
