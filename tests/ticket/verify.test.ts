import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, generateKeyPairSync, sign as rsaSign, X509Certificate, type KeyObject } from "node:crypto";
import { encodeTicket, formatStamp, pssSign, signTicket } from "../../src/ticket/sign.ts";
import { verifyTicket } from "../../src/ticket/verify.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";

let engine: EngineKeys;
let other: EngineKeys;
let engineKey: KeyObject;

beforeAll(() => {
  engine = makeEngineKeys("engine.test");
  other = makeEngineKeys("attacker.test");
  engineKey = new X509Certificate(engine.certPem).publicKey;
});

afterAll(() => {
  removeEngineKeys(engine);
  removeEngineKeys(other);
});

const NOW = new Date("2024-05-01T10:00:00Z");
const SALT = Buffer.from("8 bytes!").toString("base64");
const dataOf = (payload: unknown) => encodeURIComponent(JSON.stringify(payload));
const DATA = dataOf({ host: "192.168.1.10", port: "5900", ssl_target: false });

function baseValues() {
  return { salt: SALT, validFrom: "20240501100000", validTo: "20240501100200", data: DATA };
}

/** A ticket signed over `signedFields` (in that order) with `keyPem`, plus any extra fields. */
function forge(keyPem: string, values: Record<string, string>, signedFields: string[], extra: Record<string, string> = {}): string {
  const message = signedFields.map((name) => values[name] ?? "").join("");
  return encodeTicket({
    ...values,
    signedFields: signedFields.join(","),
    v2_signature: pssSign(message, createPrivateKey(keyPem)),
    ...extra,
  });
}

const JAVA = ["salt", "data", "validFrom", "validTo"];
const PYTHON = ["salt", "validFrom", "validTo", "data"];
const JAVA_44 = ["salt", "data", "digest", "validFrom", "validTo"];

function fieldsOf(raw: string): Record<string, string> {
  return JSON.parse(Buffer.from(raw, "base64").toString("utf8"));
}

/** The same ticket with some fields replaced (the signature is kept as it was). */
function edit(raw: string, changes: Record<string, string | null>): string {
  const f: Record<string, string | null> = { ...fieldsOf(raw), ...changes };
  return encodeTicket(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== null)) as Record<string, string>);
}

const check = (raw: string, now = NOW, skewSeconds = 5) => verifyTicket(raw, { engineKey, now, skewSeconds });

describe("verifyTicket accepts genuine engine tickets", () => {
  test("a Java-order ticket signed by the engine key verifies", () => {
    const result = check(forge(engine.keyPem, baseValues(), JAVA));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.ticket.target).toEqual({ host: "192.168.1.10", port: 5900, sslTarget: false, path: null, token: null, viewOnly: false });
      expect(result.ticket.validFrom.toISOString()).toBe("2024-05-01T10:00:00.000Z");
      expect(result.ticket.validTo.toISOString()).toBe("2024-05-01T10:02:00.000Z");
      expect(result.ticket.salt).toBe(SALT);
    }
  });

  test("a Python-order ticket signed by the engine key verifies", () => {
    expect(check(forge(engine.keyPem, baseValues(), PYTHON)).ok).toBe(true);
  });

  test("the ticket's v2_signature is returned as its single-use id", () => {
    const raw = forge(engine.keyPem, baseValues(), JAVA);
    const result = check(raw);
    expect(result.ok && result.ticket.signature).toBe(fieldsOf(raw).v2_signature!);
  });

  test("a ticket minted by signTicket verifies, in both orders", () => {
    for (const order of ["java", "python"] as const) {
      const raw = signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "10.1.2.3", port: 5901, now: NOW, order });
      const result = check(raw);
      expect(result.ok && result.ticket.target.port).toBe(5901);
    }
  });

  test("both data encodings from the spec verify when signed", () => {
    const encodeUri = "%7B%22host%22:%22192.168.1.10%22,%22port%22:%225900%22,%22ssl_target%22:false,%22path%22:null,%22token%22:null%7D";
    const form = "%7B%22port%22%3A%225900%22%2C%22host%22%3A%2210.0.0.5%22%2C%22ssl_target%22%3Atrue%7D";
    const a = check(forge(engine.keyPem, { ...baseValues(), data: encodeUri }, JAVA));
    const b = check(forge(engine.keyPem, { ...baseValues(), data: form }, JAVA));
    expect(a.ok && a.ticket.target.host).toBe("192.168.1.10");
    expect(b.ok && b.ticket.target).toEqual({ host: "10.0.0.5", port: 5900, sslTarget: true, path: null, token: null, viewOnly: false });
  });

  test("a port sent as a number verifies like a port sent as a string", () => {
    const numeric = check(forge(engine.keyPem, { ...baseValues(), data: dataOf({ host: "h.example", port: 5902, ssl_target: true }) }, JAVA));
    expect(numeric.ok && numeric.ticket.target.port).toBe(5902);
  });

  test("a 4.4-era ticket with digest sha1 and a PKCS#1 v1.5 SHA-1 signature verifies through v2_signature", () => {
    const values = { ...baseValues(), digest: "sha1" };
    const message = JAVA_44.map((name) => values[name as keyof typeof values]).join("");
    const legacy = rsaSign("sha1", Buffer.from(message), createPrivateKey(engine.keyPem)).toString("base64");
    const raw = forge(engine.keyPem, values, JAVA_44, { signature: legacy, certificate: engine.certPem });
    expect(check(raw).ok).toBe(true);
  });

  test("a 4.4-era ticket whose v2_signature is bad is rejected even with a good legacy signature", () => {
    const values = { ...baseValues(), digest: "sha1" };
    const message = JAVA_44.map((name) => values[name as keyof typeof values]).join("");
    const legacy = rsaSign("sha1", Buffer.from(message), createPrivateKey(engine.keyPem)).toString("base64");
    const raw = forge(engine.keyPem, { ...values, validTo: "20240501235959" }, JAVA_44, { signature: legacy });
    expect(check(edit(raw, { validTo: "20240501100200" }))).toEqual({ ok: false, reason: "bad signature" });
    expect(check(edit(raw, { v2_signature: null }))).toEqual({ ok: false, reason: "malformed ticket: no v2_signature" });
  });

  test("the engine's private key object also verifies (its public half is used)", () => {
    const raw = forge(engine.keyPem, baseValues(), JAVA);
    expect(verifyTicket(raw, { engineKey: createPrivateKey(engine.keyPem), now: NOW, skewSeconds: 0 }).ok).toBe(true);
  });
});

describe("verifyTicket rejects tampered and foreign tickets", () => {
  const tampered: [string, Record<string, string>][] = [
    ["the host changed", { data: dataOf({ host: "10.6.6.6", port: "5900", ssl_target: false }) }],
    ["the port changed", { data: dataOf({ host: "192.168.1.10", port: "5901", ssl_target: false }) }],
    ["ssl_target turned off", { data: dataOf({ host: "192.168.1.10", port: "5900", ssl_target: true }) }],
    ["validTo extended", { validTo: "20240501235959" }],
    ["validFrom moved", { validFrom: "20240501095959" }],
    ["the salt changed", { salt: Buffer.from("8 bytes?").toString("base64") }],
    ["the signature's first byte flipped", {}],
  ];

  test.each(tampered)("a ticket with %s fails the signature check", (name, changes) => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    let raw = edit(genuine, changes);
    if (name.startsWith("the signature")) {
      const sig = Buffer.from(fieldsOf(genuine).v2_signature!, "base64");
      sig[0]! ^= 1;
      raw = edit(genuine, { v2_signature: sig.toString("base64") });
    }
    expect(check(raw)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("a ticket signed by another key and carrying that key's certificate is rejected", () => {
    const raw = forge(other.keyPem, baseValues(), JAVA, { certificate: other.certPem });
    expect(check(raw)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("a ticket minted by signTicket with another key is rejected", () => {
    const raw = signTicket({ keyPem: other.keyPem, certPem: other.certPem, host: "192.168.1.10", port: 5900, now: NOW });
    expect(check(raw)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("a PKCS#1 v1.5 SHA-256 signature in v2_signature is not accepted as PSS", () => {
    const values = baseValues();
    const message = JAVA.map((name) => (values as Record<string, string>)[name]).join("");
    const v15 = rsaSign("sha256", Buffer.from(message), createPrivateKey(engine.keyPem)).toString("base64");
    const raw = encodeTicket({ ...values, signedFields: JAVA.join(","), v2_signature: v15 });
    expect(check(raw)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("a signature of the wrong length is a bad signature, not a crash", () => {
    const raw = edit(forge(engine.keyPem, baseValues(), JAVA), { v2_signature: Buffer.alloc(16, 1).toString("base64") });
    expect(check(raw)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("a non-RSA engine key is refused", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    const raw = forge(engine.keyPem, baseValues(), JAVA);
    expect(verifyTicket(raw, { engineKey: ec, now: NOW, skewSeconds: 5 })).toEqual({ ok: false, reason: "engine key is not RSA" });
  });
});

describe("verifyTicket refuses field-shift forgeries of a genuine signature", () => {
  test("dropping fields from signedFields while re-using the signature is rejected by shape", () => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    // salt + data swallowing validFrom and validTo: same signed bytes, but only two named fields.
    const v = baseValues();
    const shifted = edit(genuine, { signedFields: "salt,data", data: v.data + v.validFrom + v.validTo });
    expect(check(shifted)).toEqual({ ok: false, reason: "malformed ticket: signedFields" });
  });

  test("moving a digit from validFrom to the end of data is rejected by shape", () => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    const v = baseValues();
    const shifted = edit(genuine, { data: v.data + v.validFrom.slice(0, 1), validFrom: v.validFrom.slice(1) });
    expect(check(shifted)).toEqual({ ok: false, reason: "malformed ticket: validFrom" });
  });

  test("moving digits from validTo into validFrom is rejected by shape", () => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    const v = baseValues();
    const shifted = edit(genuine, { validFrom: v.validFrom + v.validTo.slice(0, 2), validTo: v.validTo.slice(2) });
    expect(check(shifted)).toEqual({ ok: false, reason: "malformed ticket: validFrom" });
  });

  test("moving the salt's tail into data is rejected by shape", () => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    const v = baseValues();
    const shifted = edit(genuine, { salt: v.salt.slice(0, 8), data: v.salt.slice(8) + v.data });
    expect(check(shifted)).toEqual({ ok: false, reason: "malformed ticket: salt" });
  });

  test("relabelling a Python-order ticket as Java order is rejected by shape", () => {
    const genuine = forge(engine.keyPem, baseValues(), PYTHON);
    const v = baseValues();
    // Same bytes salt|validFrom|validTo|data re-split as salt|data'|validFrom'|validTo'.
    const joined = v.validFrom + v.validTo + v.data;
    const shifted = edit(genuine, {
      signedFields: JAVA.join(","),
      data: joined.slice(0, -28),
      validFrom: joined.slice(-28, -14),
      validTo: joined.slice(-14),
    });
    expect(check(shifted).ok).toBe(false);
  });

  test("a 4.4-era ticket relabelled as Java order, with digest swallowed by data, is rejected", () => {
    const values = { ...baseValues(), digest: "sha1" };
    const genuine = forge(engine.keyPem, values, JAVA_44);
    const shifted = edit(genuine, { signedFields: JAVA.join(","), data: values.data + "sha1", digest: null });
    expect(check(shifted)).toEqual({ ok: false, reason: "malformed ticket: data" });
  });

  test("a forged target that still parses cannot re-use the signature", () => {
    // data = '{"host":"a","port":"5900","ssl_target":false}' followed by digits would be a shift;
    // a target that parses needs different bytes, which the signature covers.
    const genuine = forge(engine.keyPem, baseValues(), JAVA);
    const shifted = edit(genuine, { data: dataOf({ host: "192.168.1.1", port: "5900", ssl_target: false }) });
    expect(check(shifted)).toEqual({ ok: false, reason: "bad signature" });
  });
});

describe("verifyTicket checks the validity window with clock skew", () => {
  const raw = () => forge(engine.keyPem, baseValues(), JAVA);
  const validFrom = new Date("2024-05-01T10:00:00Z").getTime();
  const validTo = new Date("2024-05-01T10:02:00Z").getTime();

  test.each([
    ["exactly at validFrom", validFrom, 0],
    ["exactly at validTo", validTo, 0],
    ["skew seconds before validFrom", validFrom - 5000, 5],
    ["skew seconds after validTo", validTo + 5000, 5],
  ])("accepts a ticket checked %s", (_name, at, skew) => {
    expect(check(raw(), new Date(at), skew).ok).toBe(true);
  });

  test("a ticket checked one millisecond past validTo plus skew has expired", () => {
    expect(check(raw(), new Date(validTo + 5001), 5)).toEqual({ ok: false, reason: "ticket expired", expired: true, outsideWindow: true });
  });

  test("a ticket checked one millisecond before validFrom minus skew is not yet valid", () => {
    expect(check(raw(), new Date(validFrom - 5001), 5)).toEqual({ ok: false, reason: "ticket not yet valid", outsideWindow: true });
  });

  test("a long-expired ticket is reported as expired", () => {
    expect(check(raw(), new Date("2024-05-02T00:00:00Z"), 5)).toEqual({ ok: false, reason: "ticket expired", expired: true, outsideWindow: true });
  });

  test("a negative or NaN skew counts as no skew", () => {
    expect(check(raw(), new Date(validTo + 1), -30).ok).toBe(false);
    expect(check(raw(), new Date(validTo + 1), Number.NaN).ok).toBe(false);
    expect(check(raw(), new Date(validTo), -30).ok).toBe(true);
  });

  test("the signature is checked before the time: a forged expired ticket says bad signature", () => {
    const forged = forge(other.keyPem, baseValues(), JAVA);
    expect(check(forged, new Date("2030-01-01T00:00:00Z"), 5)).toEqual({ ok: false, reason: "bad signature" });
  });

  test("an invalid clock fails closed", () => {
    expect(check(raw(), new Date(Number.NaN), 5)).toEqual({ ok: false, reason: "clock unusable" });
  });

  test("formatStamp and the window agree for a freshly minted ticket", () => {
    const now = new Date("2024-05-01T10:00:00.750Z");
    const minted = signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "h", port: 5900, now, lifetimeSeconds: 120 });
    expect(fieldsOf(minted).validFrom).toBe(formatStamp(now));
    expect(check(minted, now, 0).ok).toBe(true);
  });
});

describe("verifyTicket under random mutation", () => {
  test("no single-character change to a genuine ticket verifies, and nothing throws", () => {
    const genuine = forge(engine.keyPem, baseValues(), JAVA, { certificate: engine.certPem });
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%{}\",:";
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const json = Buffer.from(genuine, "base64").toString("utf8");
    // The certificate is unsigned by design: restrict mutations of the JSON text to everything before it.
    const certStart = json.indexOf('"certificate"');
    for (let i = 0; i < 400; i++) {
      let candidate: string;
      if (i % 2 === 0) {
        const at = rand(certStart);
        const ch = alphabet[rand(alphabet.length)]!;
        if (json[at] === ch) continue;
        candidate = Buffer.from(json.slice(0, at) + ch + json.slice(at + 1), "utf8").toString("base64");
      } else {
        const at = rand(genuine.length);
        const ch = alphabet[rand(64)]!;
        if (genuine[at] === ch) continue;
        candidate = genuine.slice(0, at) + ch + genuine.slice(at + 1);
      }
      const result = check(candidate);
      if (result.ok) {
        // Only a change that leaves every signed value intact may verify (e.g. inside the PEM).
        const f = fieldsOf(candidate);
        expect([f.salt, f.data, f.validFrom, f.validTo, f.signedFields]).toEqual([SALT, DATA, "20240501100000", "20240501100200", JAVA.join(",")]);
      }
    }
  });
});
