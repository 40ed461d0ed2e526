/**
 * PEM text -> labelled blocks. Pure string code (no I/O), so the loaders can tell apart
 * "no certificate", "no key" and "encrypted key" before handing bytes to node:crypto.
 */

/** One `-----BEGIN X-----` ... `-----END X-----` block, text included verbatim. */
export interface PemBlock {
  /** The word(s) after BEGIN, e.g. "CERTIFICATE", "RSA PRIVATE KEY". */
  label: string;
  /** The whole block, BEGIN and END lines included, ending in a newline. */
  text: string;
  /** True for PKCS#8 `ENCRYPTED PRIVATE KEY` and legacy `Proc-Type: 4,ENCRYPTED` keys. */
  encrypted: boolean;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every well-formed PEM block in `text`, in file order; anything between blocks is ignored. */
export function splitPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1] ?? "";
    const body = m[2] ?? "";
    const encrypted = label === "ENCRYPTED PRIVATE KEY" || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(body);
    blocks.push({ label, text: m[0].replace(/\r\n/g, "\n") + "\n", encrypted });
  }
  return blocks;
}

/** True for any private-key label: PKCS#8, PKCS#1 RSA, SEC1 EC, encrypted PKCS#8. */
export function isPrivateKeyLabel(label: string): boolean {
  return label.endsWith("PRIVATE KEY");
}

/** True for certificate labels (`CERTIFICATE`, and the older `X509 CERTIFICATE`). */
export function isCertificateLabel(label: string): boolean {
  return label === "CERTIFICATE" || label === "X509 CERTIFICATE";
}

/** An X.509 distinguished name as node prints it (one RDN per line) -> one line, `CN=a, O=b`. */
export function oneLineName(name: string): string {
  return name
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join(", ");
}
