/**
 * `novnc-proxy export-cert`: the engine's PKCS#12 keystore -> the PEM pair the proxy serves with,
 * replacing the two `openssl pkcs12` commands of engine-setup. The key is written unencrypted,
 * mode 0600 from the first byte; nothing secret is ever printed.
 */
import { defineCommand } from "citty";
import { ConfigError } from "../errors.ts";
import { certFacts, describeKey, type CertFacts } from "../tls/describe.ts";
import { loadKeystoreEntry } from "../tls/pkcs12.ts";
import { KEYSTORE_PASSWORD_ENV, resolveKeystorePassword } from "../tls/password.ts";
import { CERT_FILE_MODE, checkOutputPath, writeFileAtomic, writeKeyFile } from "../tls/write-key.ts";
import { resolve } from "node:path";

export const exportCertArgs = {
  keystore: {
    type: "string",
    description: "PKCS#12 keystore to read (e.g. /etc/pki/ovirt-engine/keys/websocket-proxy.p12)",
    valueHint: "FILE",
    required: true,
  },
  password: {
    type: "string",
    description: `Keystore password (default: $${KEYSTORE_PASSWORD_ENV}, else oVirt's "mypass"); visible in ps, prefer --password-file`,
    valueHint: "PASS",
  },
  "password-file": {
    type: "string",
    description: "Read the keystore password from this file (one trailing newline ignored)",
    valueHint: "FILE",
  },
  alias: {
    type: "string",
    description: 'Keystore entry to export (default: the only key entry; oVirt\'s unnamed entries are "1")',
    valueHint: "NAME",
  },
  "cert-out": {
    type: "string",
    description: "Write the leaf certificate here (PEM)",
    valueHint: "FILE",
    required: true,
  },
  "key-out": {
    type: "string",
    description: "Write the private key here, unencrypted PKCS#8 PEM, mode 0600",
    valueHint: "FILE",
    required: true,
  },
  "chain-out": {
    type: "string",
    description: "Write the CA chain found in the keystore here (PEM), when there is one",
    valueHint: "FILE",
  },
  force: {
    type: "boolean",
    description: "Overwrite existing output files",
    default: false,
  },
} as const;

/** Everything `exportCert` needs, resolved from flags and environment. */
export interface ExportCertOptions {
  keystore: string;
  password: string;
  alias?: string;
  certOut: string;
  keyOut: string;
  chainOut?: string;
  force: boolean;
}

/** Flags + environment -> options (pure apart from reading a --password-file). */
export function parseExportCertArgs(
  args: {
    keystore?: string;
    password?: string;
    "password-file"?: string;
    alias?: string;
    "cert-out"?: string;
    "key-out"?: string;
    "chain-out"?: string;
    force?: boolean;
  },
  env: Record<string, string | undefined> = process.env,
): ExportCertOptions {
  const need = (v: string | undefined, flag: string): string => {
    if (v === undefined || v === "") throw new ConfigError(`${flag} FILE is required`);
    return v;
  };
  const opts: ExportCertOptions = {
    keystore: need(args.keystore, "--keystore"),
    certOut: need(args["cert-out"], "--cert-out"),
    keyOut: need(args["key-out"], "--key-out"),
    password: resolveKeystorePassword({ password: args.password, passwordFile: args["password-file"] }, env),
    force: args.force === true,
  };
  if (args.alias !== undefined) opts.alias = args.alias;
  if (args["chain-out"] !== undefined && args["chain-out"] !== "") opts.chainOut = args["chain-out"];

  const outs: [string, string | undefined][] = [
    ["--cert-out", opts.certOut],
    ["--key-out", opts.keyOut],
    ["--chain-out", opts.chainOut],
  ];
  const seen = new Map<string, string>();
  for (const [flag, file] of outs) {
    if (file === undefined) continue;
    const abs = resolve(file);
    const other = seen.get(abs);
    if (other) throw new ConfigError(`${flag} ${file}: same file as ${other}`);
    if (abs === resolve(opts.keystore)) throw new ConfigError(`${flag} ${file}: would overwrite the keystore`);
    seen.set(abs, flag);
  }
  return opts;
}

/** What was exported, for the summary lines. */
export interface ExportSummary extends CertFacts {
  alias: string;
  keyType: string;
  certOut: string;
  keyOut: string;
  chainOut: string | null;
  chainCount: number;
}

/** Reads the keystore, checks every output path, then writes cert, key (0600) and chain. */
export function exportCert(opts: ExportCertOptions): ExportSummary {
  const entry = loadKeystoreEntry(opts.keystore, opts.password, opts.alias);
  // Check all destinations first so a refusal leaves nothing half-written.
  checkOutputPath(opts.certOut, "--cert-out", opts.force);
  checkOutputPath(opts.keyOut, "--key-out", opts.force);
  const writeChain = opts.chainOut !== undefined && entry.chain.length > 0;
  if (writeChain) checkOutputPath(opts.chainOut!, "--chain-out", opts.force);

  writeKeyFile(opts.keyOut, entry.key.export({ type: "pkcs8", format: "pem" }).toString(), opts.force);
  writeFileAtomic(opts.certOut, pemOf(entry.leaf), { mode: CERT_FILE_MODE, force: opts.force, flag: "--cert-out" });
  if (writeChain) {
    writeFileAtomic(opts.chainOut!, entry.chain.map(pemOf).join(""), {
      mode: CERT_FILE_MODE,
      force: opts.force,
      flag: "--chain-out",
    });
  }
  return {
    ...certFacts(entry.leaf),
    alias: entry.alias,
    keyType: describeKey(entry.key),
    certOut: opts.certOut,
    keyOut: opts.keyOut,
    chainOut: writeChain ? opts.chainOut! : null,
    chainCount: entry.chain.length,
  };
}

function pemOf(cert: { toString(): string }): string {
  return cert.toString().trimEnd() + "\n";
}

/** The lines printed after a successful export: public facts only. */
export function formatExportSummary(s: ExportSummary, chainRequested: boolean): string {
  const lines = [
    `certificate  ${s.certOut}`,
    `private key  ${s.keyOut} (unencrypted, mode 0600)`,
  ];
  if (s.chainOut) lines.push(`CA chain     ${s.chainOut} (${s.chainCount} certificate${s.chainCount === 1 ? "" : "s"})`);
  else if (chainRequested) lines.push("CA chain     none in the keystore, --chain-out not written");
  lines.push(
    `alias        ${s.alias}`,
    `subject      ${s.subject}`,
    `issuer       ${s.issuer}`,
    `valid        ${s.notBefore.toISOString()} to ${s.notAfter.toISOString()}`,
    `key type     ${s.keyType}`,
    `SHA-256      ${s.fingerprint256}`,
  );
  return lines.join("\n") + "\n";
}

export default defineCommand({
  meta: {
    name: "export-cert",
    description: "Export the TLS certificate and unencrypted key (mode 0600) from a PKCS#12 keystore to PEM",
  },
  args: exportCertArgs,
  run({ args }) {
    const opts = parseExportCertArgs(args);
    const summary = exportCert(opts);
    process.stdout.write(formatExportSummary(summary, opts.chainOut !== undefined));
  },
});
