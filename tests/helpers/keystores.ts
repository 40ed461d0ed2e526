/**
 * Real keystores and PEM files made at test time with `openssl` and Java `keytool`, the way an
 * oVirt engine (pki-enroll-pkcs12.sh, keytool) makes them. Nothing is checked in.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Output of a finished command; throws with stderr when it failed. */
export function run(cmd: string[], opts: { cwd?: string; input?: string } = {}): string {
  const p = Bun.spawnSync(cmd, {
    cwd: opts.cwd,
    stdin: opts.input === undefined ? "ignore" : Buffer.from(opts.input),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000, // bounded: a stuck openssl/keytool fails the test instead of hanging it
  });
  if (p.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${p.stderr.toString()}`);
  }
  return p.stdout.toString();
}

/** True when `keytool` can be run (Java installed). */
export function haveKeytool(): boolean {
  try {
    return Bun.spawnSync(["keytool", "-help"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}

/** A fresh temporary folder and its removal. */
export function tempDir(prefix = "novnc-tls-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PemPair {
  cert: string;
  key: string;
}

/** Self-signed RSA (or EC P-256) cert + unencrypted PKCS#8 key, as files in `dir`. */
export function makePemPair(dir: string, name: string, opts: { ec?: boolean; cn?: string } = {}): PemPair {
  const cert = join(dir, `${name}.cer`);
  const key = join(dir, `${name}.key`);
  const alg = opts.ec ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"];
  run([
    "openssl", "req", "-x509", ...alg, "-nodes", "-keyout", key, "-out", cert, "-days", "30",
    "-subj", `/CN=${opts.cn ?? name}/O=novnc-proxy tests`,
  ]);
  return { cert, key };
}

/** A CA and a leaf signed by it: files ca.cer/ca.key, NAME.cer/NAME.key. */
export function makeCaSignedPair(dir: string, name: string): PemPair & { caCert: string } {
  const ca = makePemPair(dir, `${name}-ca`, { cn: `${name} test CA` });
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.cer`);
  run([
    "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
    "-subj", `/CN=${name}/O=novnc-proxy tests`,
  ]);
  run([
    "openssl", "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", cert, "-days", "30",
  ]);
  return { cert, key, caCert: ca.cert };
}

/**
 * `openssl pkcs12 -export` of a PEM pair. Without `name` there is no friendly name, like
 * oVirt's pki-enroll-pkcs12.sh. `legacy` = 3DES/RC2 + SHA-1 MAC instead of OpenSSL 3's AES-256.
 */
export function opensslP12(
  out: string,
  pair: PemPair,
  opts: { password: string; name?: string; legacy?: boolean; chain?: string },
): string {
  run([
    "openssl", "pkcs12", "-export", "-in", pair.cert, "-inkey", pair.key, "-out", out,
    "-passout", `pass:${opts.password}`,
    ...(opts.name ? ["-name", opts.name] : []),
    ...(opts.legacy ? ["-legacy"] : []),
    ...(opts.chain ? ["-certfile", opts.chain] : []),
  ]);
  return out;
}

/** `keytool -genkeypair` into a PKCS12 (or JKS) store; call again to add a second entry. */
export function keytoolGenKeyPair(
  store: string,
  opts: { alias: string; password: string; ec?: boolean; storeType?: "PKCS12" | "JKS" },
): string {
  run([
    "keytool", "-genkeypair", "-noprompt", "-storetype", opts.storeType ?? "PKCS12",
    "-keystore", store, "-storepass", opts.password, "-keypass", opts.password,
    "-alias", opts.alias,
    ...(opts.ec ? ["-keyalg", "EC", "-groupname", "secp256r1"] : ["-keyalg", "RSA", "-keysize", "2048"]),
    "-validity", "30", "-dname", `CN=${opts.alias}.test, O=novnc-proxy tests`,
  ]);
  return store;
}

/** What `openssl pkcs12 -nodes -nocerts` extracts, normalised to PKCS#8 PEM for comparison. */
export function opensslExtractKey(p12: string, password: string, legacy = false): string {
  const raw = run([
    "openssl", "pkcs12", "-in", p12, "-nodes", "-nocerts", "-passin", `pass:${password}`,
    ...(legacy ? ["-legacy"] : []),
  ]);
  return normaliseKey(raw);
}

/** Any PEM private key -> PKCS#8 PEM via openssl, so different encodings compare equal. */
export function normaliseKey(pem: string): string {
  return run(["openssl", "pkey"], { input: pem });
}

/** SHA-256 of the public key of a certificate or of a private key, for "key matches cert". */
export function publicKeyDigest(file: string, kind: "cert" | "key"): string {
  const pub =
    kind === "cert"
      ? run(["openssl", "x509", "-in", file, "-noout", "-pubkey"])
      : run(["openssl", "pkey", "-in", file, "-pubout"]);
  return new Bun.CryptoHasher("sha256").update(pub).digest("hex");
}

/** `openssl x509 -noout -fingerprint -sha256` -> "AB:CD:..." */
export function opensslFingerprint(certFile: string): string {
  const out = run(["openssl", "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]);
  return out.trim().split("=")[1] ?? "";
}

/** A file with given text, for the hostile-input cases. */
export function writeText(dir: string, name: string, text: string | Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
