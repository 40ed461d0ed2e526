import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { constants, createPrivateKey, generateKeyPairSync, verify, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeTicket } from "../../src/ticket/decode.ts";
import { DEFAULT_LIFETIME_SECONDS, formatStamp, signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";

let engine: EngineKeys;
beforeAll(() => {
  engine = makeEngineKeys();
});
afterAll(() => removeEngineKeys(engine));

const NOW = new Date("2024-05-01T10:00:00.300Z");
const mint = (extra: Partial<Parameters<typeof signTicket>[0]> = {}) =>
  signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "192.168.1.10", port: 5900, now: NOW, ...extra });
const fieldsOf = (raw: string): Record<string, unknown> => JSON.parse(Buffer.from(raw, "base64").toString("utf8"));

describe("signTicket produces the engine's format", () => {
  test("every field is a JSON string and the set matches the Java engine's", () => {
    const f = fieldsOf(mint());
    expect(Object.keys(f).sort()).toEqual(["certificate", "data", "salt", "signedFields", "v2_signature", "validFrom", "validTo"]);
    for (const value of Object.values(f)) expect(typeof value).toBe("string");
  });

  test("the ticket is standard padded base64 without line breaks", () => {
    expect(mint()).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(mint().length % 4).toBe(0);
  });

  test("data is form-encoded JSON with the port as a string and ssl_target as a boolean", () => {
    const f = fieldsOf(mint({ sslTarget: true }));
    expect(f.data).toBe("%7B%22host%22%3A%22192.168.1.10%22%2C%22port%22%3A%225900%22%2C%22ssl_target%22%3Atrue%7D");
    expect(fieldsOf(mint()).data).toContain("ssl_target%22%3Afalse");
  });

  test("the Java order is the default and the Python order can be chosen", () => {
    expect(fieldsOf(mint()).signedFields).toBe("salt,data,validFrom,validTo");
    expect(fieldsOf(mint({ order: "python" })).signedFields).toBe("salt,validFrom,validTo,data");
  });

  test("the salt is 8 fresh random bytes per ticket", () => {
    const a = fieldsOf(mint()).salt as string;
    const b = fieldsOf(mint()).salt as string;
    expect(Buffer.from(a, "base64").length).toBe(8);
    expect(a).not.toBe(b);
  });

  test("the window runs from now (whole seconds, UTC) for the lifetime, 120 s by default", () => {
    const f = fieldsOf(mint());
    expect(f.validFrom).toBe("20240501100000");
    expect(f.validTo).toBe("20240501100200");
    expect(DEFAULT_LIFETIME_SECONDS).toBe(120);
    expect(fieldsOf(mint({ lifetimeSeconds: 3600 })).validTo).toBe("20240501110000");
  });

  test("formatStamp writes yyyyMMddHHmmss in UTC", () => {
    expect(formatStamp(new Date("1999-12-31T23:59:59.999Z"))).toBe("19991231235959");
  });

  test("the engine certificate is embedded as given", () => {
    expect(fieldsOf(mint()).certificate).toBe(engine.certPem);
  });

  test("the result decodes with our strict decoder", () => {
    const d = decodeTicket(mint({ port: 6923, sslTarget: true }));
    expect(d.ok && d.fields.target).toEqual({ host: "192.168.1.10", port: 6923, sslTarget: true, path: null, token: null, viewOnly: false });
  });

  test("v2_signature is PSS with the maximum salt length (222 bytes for RSA-2048)", () => {
    const raw = mint();
    const d = decodeTicket(raw);
    if (!d.ok) throw new Error(d.reason);
    const pub = new X509Certificate(engine.certPem).publicKey;
    const sig = Buffer.from(d.fields.v2Signature, "base64");
    const withSalt = (saltLength: number) =>
      verify("sha256", Buffer.from(d.fields.signedMessage), { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    expect(withSalt(222)).toBe(true);
    expect(withSalt(32)).toBe(false);
  });

  test("openssl verifies v2_signature with rsa_pss_saltlen:max", () => {
    const d = decodeTicket(mint());
    if (!d.ok) throw new Error(d.reason);
    const msg = join(engine.dir, "msg.bin");
    const sig = join(engine.dir, "sig.bin");
    const pub = join(engine.dir, "pub.pem");
    writeFileSync(msg, d.fields.signedMessage);
    writeFileSync(sig, Buffer.from(d.fields.v2Signature, "base64"));
    writeFileSync(pub, new X509Certificate(engine.certPem).publicKey.export({ type: "spki", format: "pem" }));
    const out = execFileSync("openssl", [
      "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max",
      "-sigopt", "rsa_mgf1_md:sha256", "-verify", pub, "-signature", sig, msg,
    ], { encoding: "utf8", timeout: 10_000 });
    expect(out.trim()).toBe("Verified OK");
  });

  test.each([
    ["port 0", { port: 0 }],
    ["port 65536", { port: 65536 }],
    ["a fractional port", { port: 5900.5 }],
    ["an empty host", { host: "" }],
    ["a host with a space", { host: "a b" }],
    ["a zero lifetime", { lifetimeSeconds: 0 }],
    ["a fractional lifetime", { lifetimeSeconds: 1.5 }],
  ])("refuses %s", (_name, extra) => {
    expect(() => mint(extra)).toThrow(RangeError);
  });

  test("refuses a non-RSA key", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    expect(() => mint({ keyPem: ec })).toThrow("RSA");
  });

  test("an unusable key fails without quoting the key", () => {
    let message = "";
    try {
      mint({ keyPem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" });
    } catch (err) {
      message = String(err);
    }
    expect(message).not.toBe("");
    expect(message).not.toContain("AAAA");
  });
});

const hasJava = spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0;

/** The engine's side in Java: verify our ticket's PSS signature, and sign one the engine's way. */
const JAVA_SOURCE = `
import java.nio.file.*; import java.security.*; import java.security.spec.*; import java.util.Base64;
public class PssCheck {
  public static void main(String[] a) throws Exception {
    KeyFactory kf = KeyFactory.getInstance("RSA");
    PSSParameterSpec spec = new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 2048 / 8 - 32 - 2, 1);
    Signature v = Signature.getInstance("RSASSA-PSS");
    v.setParameter(spec);
    v.initVerify(kf.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(Paths.get(a[0])))));
    v.update(Files.readAllBytes(Paths.get(a[1])));
    System.out.println(v.verify(Base64.getDecoder().decode(Files.readString(Paths.get(a[2])).trim())) ? "VERIFIED" : "FAILED");
    Signature s = Signature.getInstance("RSASSA-PSS");
    s.setParameter(spec);
    s.initSign(kf.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(Paths.get(a[3])))));
    s.update(Files.readAllBytes(Paths.get(a[1])));
    System.out.println(Base64.getEncoder().encodeToString(s.sign()));
  }
}`;

describe.skipIf(!hasJava)("interoperability with the Java engine's RSASSA-PSS", () => {
  test("Java verifies our signature with the engine's parameters, and we verify Java's", () => {
    const d = decodeTicket(mint());
    if (!d.ok) throw new Error(d.reason);
    const dir = engine.dir;
    const pubKey = new X509Certificate(engine.certPem).publicKey;
    writeFileSync(join(dir, "PssCheck.java"), JAVA_SOURCE);
    writeFileSync(join(dir, "pub.der"), pubKey.export({ type: "spki", format: "der" }));
    writeFileSync(join(dir, "key.der"), createPrivateKey(engine.keyPem).export({ type: "pkcs8", format: "der" }));
    writeFileSync(join(dir, "msg.txt"), d.fields.signedMessage);
    writeFileSync(join(dir, "sig.txt"), d.fields.v2Signature);
    const out = execFileSync(
      "java",
      [join(dir, "PssCheck.java"), join(dir, "pub.der"), join(dir, "msg.txt"), join(dir, "sig.txt"), join(dir, "key.der")],
      { encoding: "utf8", timeout: 60_000 },
    ).trim().split("\n");
    expect(out[0]).toBe("VERIFIED");
    const javaSig = Buffer.from(out[1]!, "base64");
    const ok = verify("sha256", Buffer.from(d.fields.signedMessage), {
      key: pubKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_AUTO,
    }, javaSig);
    expect(ok).toBe(true);
  }, 60_000);
});
