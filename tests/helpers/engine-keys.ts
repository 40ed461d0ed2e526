/**
 * Test helper: a throw-away RSA-2048 engine key and self-signed certificate, made with the
 * `openssl` CLI at test time (so no key material lives in the repository).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
