import { describe, expect, test } from "bun:test";
import { isCertificateLabel, isPrivateKeyLabel, oneLineName, splitPem } from "../../src/tls/pem.ts";

const block = (label: string, body = "QUJD\n") => `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;

describe("splitPem", () => {
  test("finds every block in file order and ignores text between them", () => {
    const text = "Bag Attributes\n" + block("CERTIFICATE") + "junk\n" + block("PRIVATE KEY");
    expect(splitPem(text).map((b) => b.label)).toEqual(["CERTIFICATE", "PRIVATE KEY"]);
  });

  test("accepts CRLF line ends", () => {
    const text = block("CERTIFICATE").replace(/\n/g, "\r\n");
    const [b] = splitPem(text);
    expect(b?.label).toBe("CERTIFICATE");
    expect(b?.text).not.toContain("\r");
  });

  test("marks PKCS#8 and legacy Proc-Type encrypted keys as encrypted", () => {
    const legacy = block("RSA PRIVATE KEY", "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nQUJD\n");
    const blocks = splitPem(block("ENCRYPTED PRIVATE KEY") + legacy + block("PRIVATE KEY"));
    expect(blocks.map((b) => b.encrypted)).toEqual([true, true, false]);
  });

  test.each([
    ["empty text", ""],
    ["BEGIN without END", "-----BEGIN CERTIFICATE-----\nQUJD\n"],
    ["mismatched END label", "-----BEGIN CERTIFICATE-----\nQUJD\n-----END PRIVATE KEY-----\n"],
    ["plain text", "hello world\n"],
  ])("finds no block in %s", (_name, text) => {
    expect(splitPem(text)).toEqual([]);
  });
});

describe("labels and names", () => {
  test.each(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])(
    "%s is a private key label",
    (label) => expect(isPrivateKeyLabel(label)).toBe(true),
  );
  test.each(["CERTIFICATE", "PUBLIC KEY", "EC PARAMETERS"])("%s is not a private key label", (label) =>
    expect(isPrivateKeyLabel(label)).toBe(false),
  );
  test("certificate labels include OpenSSL's X509 CERTIFICATE but not TRUSTED CERTIFICATE", () => {
    expect(isCertificateLabel("CERTIFICATE")).toBe(true);
    expect(isCertificateLabel("X509 CERTIFICATE")).toBe(true);
    expect(isCertificateLabel("CERTIFICATE REQUEST")).toBe(false);
  });
  test("a multi-line distinguished name becomes one comma-separated line", () => {
    expect(oneLineName("CN=a\nO=b\n")).toBe("CN=a, O=b");
  });
});
