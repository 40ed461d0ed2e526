import { describe, expect, test } from "bun:test";
import { decodeTicket, MAX_TICKET_LENGTH, parseStamp } from "../../src/ticket/decode.ts";
import { encodeTicket } from "../../src/ticket/sign.ts";

const SALT = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).toString("base64");
const SIG = Buffer.alloc(256, 0x5a).toString("base64");
const dataOf = (payload: unknown) => encodeURIComponent(JSON.stringify(payload));
const DATA = dataOf({ host: "192.168.1.10", port: "5900", ssl_target: false });

/** Spec section 3, admin portal (encodeURI). */
const DATA_ENCODE_URI =
  "%7B%22host%22:%22192.168.1.10%22,%22port%22:%225900%22,%22ssl_target%22:false,%22path%22:null,%22token%22:null%7D";
/** Spec section 3, REST API / VM portal (form encoding). */
const DATA_FORM = "%7B%22port%22%3A%225900%22%2C%22host%22%3A%2210.0.0.5%22%2C%22ssl_target%22%3Atrue%7D";

function fields(overrides: Record<string, string | null> = {}): Record<string, string> {
  const base: Record<string, string | null> = {
    salt: SALT,
    validFrom: "20240101120000",
    validTo: "20240101120200",
    data: DATA,
    signedFields: "salt,data,validFrom,validTo",
    v2_signature: SIG,
    certificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== null)) as Record<string, string>;
}

const ticket = (overrides: Record<string, string | null> = {}) => encodeTicket(fields(overrides));
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

function decoded(raw: string) {
  const result = decodeTicket(raw);
  if (!result.ok) throw new Error(`expected a decoded ticket, got: ${result.reason}`);
  return result.fields;
}

describe("decodeTicket accepts what real engines send", () => {
  test("a Java-order ticket decodes to its target and window", () => {
    const t = decoded(ticket());
    expect(t.order).toBe("java");
    expect(t.target).toEqual({ host: "192.168.1.10", port: 5900, sslTarget: false, path: null, token: null, viewOnly: false });
    expect(t.validFrom.toISOString()).toBe("2024-01-01T12:00:00.000Z");
    expect(t.validTo.toISOString()).toBe("2024-01-01T12:02:00.000Z");
    expect(t.signedMessage).toBe(SALT + DATA + "20240101120000" + "20240101120200");
    expect(t.v2Signature).toBe(SIG);
    expect(t.hasCertificate).toBe(true);
  });

  test("a Python-order ticket signs salt, validFrom, validTo, then data", () => {
    const t = decoded(ticket({ signedFields: "salt,validFrom,validTo,data" }));
    expect(t.order).toBe("python");
    expect(t.signedMessage).toBe(SALT + "20240101120000" + "20240101120200" + DATA);
  });

  test("a 4.4-era ticket with digest sha1 and a legacy signature decodes with digest in the message", () => {
    const t = decoded(ticket({ signedFields: "salt,data,digest,validFrom,validTo", digest: "sha1", signature: SIG }));
    expect(t.order).toBe("java-4.4");
    expect(t.digest).toBe("sha1");
    expect(t.hasLegacySignature).toBe(true);
    expect(t.signedMessage).toBe(SALT + DATA + "sha1" + "20240101120000" + "20240101120200");
  });

  test("the admin portal's encodeURI-style data decodes", () => {
    const t = decoded(ticket({ data: DATA_ENCODE_URI }));
    expect(t.target).toEqual({ host: "192.168.1.10", port: 5900, sslTarget: false, path: null, token: null, viewOnly: false });
  });

  test("the REST API's form-encoded data decodes", () => {
    const t = decoded(ticket({ data: DATA_FORM }));
    expect(t.target).toEqual({ host: "10.0.0.5", port: 5900, sslTarget: true, path: null, token: null, viewOnly: false });
  });

  test("a port given as a JSON number is accepted like the string form", () => {
    expect(decoded(ticket({ data: dataOf({ host: "h", port: 5901, ssl_target: false }) })).target.port).toBe(5901);
    expect(decoded(ticket({ data: dataOf({ host: "h", port: "5901", ssl_target: false }) })).target.port).toBe(5901);
  });

  test("view_only: true (our extension) is carried through; absent means false", () => {
    expect(decoded(ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false, view_only: true }) })).target.viewOnly).toBe(true);
    expect(decoded(ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false }) })).target.viewOnly).toBe(false);
  });

  test("KubeVirt path and token are carried through", () => {
    const t = decoded(ticket({ data: dataOf({ host: "h", port: "443", ssl_target: true, path: "/vnc", token: "tok" }) }));
    expect(t.target.path).toBe("/vnc");
    expect(t.target.token).toBe("tok");
  });

  test("validFrom equal to validTo is a (zero-length) window, not an error", () => {
    expect(decoded(ticket({ validTo: "20240101120000" })).validTo.toISOString()).toBe("2024-01-01T12:00:00.000Z");
  });

  test("a ticket without an embedded certificate still decodes (it is never used anyway)", () => {
    expect(decoded(ticket({ certificate: null })).hasCertificate).toBe(false);
  });

  test("unknown extra string fields are ignored", () => {
    expect(decoded(ticket({ comment: "x" })).order).toBe("java");
  });

  test("a leap day is a real date", () => {
    expect(parseStamp("20240229235959")?.toISOString()).toBe("2024-02-29T23:59:59.000Z");
  });
});

describe("decodeTicket rejects malformed tickets with a short reason", () => {
  const bad: [string, string, string][] = [
    ["an empty string", "", "empty"],
    ["an oversized input", "A".repeat(MAX_TICKET_LENGTH + 4), "too long"],
    ["non-base64 characters", "eyJ*YWx0Ijo=", "not base64"],
    ["URL-safe base64", ticket().replace(/\+/g, "-").replace(/\//g, "_") + "-_", "not base64"],
    ["missing padding", b64('{"a":"bc"}').replace(/=+$/, ""), "not base64"],
    ["non-canonical padding bits", "YR==", "not base64"],
    ["embedded whitespace", ticket().slice(0, 8) + "\n" + ticket().slice(8), "not base64"],
    ["base64 of text that is not JSON", b64("salt=abc;data=xyz"), "not JSON"],
    ["base64 of invalid UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString("base64"), "not JSON"],
    ["a JSON array", b64('["salt"]'), "not a JSON object"],
    ["a JSON null", b64("null"), "not a JSON object"],
    ["a JSON string", b64('"x"'), "not a JSON object"],
    ["a non-string field value", b64(JSON.stringify({ ...fields(), validTo: 20240101120200 })), "non-string field"],
    ["no signedFields", ticket({ signedFields: null }), "no signedFields"],
    ["signedFields with a field dropped", ticket({ signedFields: "salt,data,validTo" }), "signedFields"],
    ["signedFields with only data", ticket({ signedFields: "data" }), "signedFields"],
    ["signedFields in an unknown order", ticket({ signedFields: "data,salt,validFrom,validTo" }), "signedFields"],
    ["signedFields naming a field twice", ticket({ signedFields: "salt,data,validFrom,validTo,validTo" }), "signedFields"],
    ["signedFields naming an extra field", ticket({ signedFields: "salt,data,validFrom,validTo,certificate" }), "signedFields"],
    ["signedFields with spaces", ticket({ signedFields: "salt, data, validFrom, validTo" }), "signedFields"],
    ["signedFields in upper case", ticket({ signedFields: "SALT,DATA,VALIDFROM,VALIDTO" }), "signedFields"],
    ["a 4.4-era field list without a digest field", ticket({ signedFields: "salt,data,digest,validFrom,validTo" }), "digest"],
    ["a 4.4-era digest other than sha1", ticket({ signedFields: "salt,data,digest,validFrom,validTo", digest: "md5" }), "digest"],
    ["a digest field that is not signed", ticket({ digest: "sha1" }), "digest"],
    ["a missing salt", ticket({ salt: null }), "salt"],
    ["a salt of 11 characters", ticket({ salt: SALT.slice(0, 11) }), "salt"],
    ["a salt of 16 bytes", ticket({ salt: Buffer.alloc(16).toString("base64") }), "salt"],
    ["a salt of 9 bytes padded to 12 characters", ticket({ salt: Buffer.alloc(9).toString("base64") }), "salt"],
    ["a salt that is not base64", ticket({ salt: "AAAAAAAAAA!=" }), "salt"],
    ["a missing validFrom", ticket({ validFrom: null }), "validFrom"],
    ["a validFrom of 13 digits", ticket({ validFrom: "2024010112000" }), "validFrom"],
    ["a validFrom of 15 digits", ticket({ validFrom: "202401011200000" }), "validFrom"],
    ["a validFrom with a sign", ticket({ validFrom: "+2024010112000" }), "validFrom"],
    ["a validFrom in ISO form", ticket({ validFrom: "2024-01-01T12:00" }), "validFrom"],
    ["a validFrom with full-width digits", ticket({ validFrom: "２０２４０１０１１２００００" }), "validFrom"],
    ["a validFrom in month 13", ticket({ validFrom: "20241301120000" }), "validFrom"],
    ["a validFrom on February 30", ticket({ validFrom: "20240230120000" }), "validFrom"],
    ["a validFrom on a leap day of a common year", ticket({ validFrom: "20230229120000" }), "validFrom"],
    ["a validFrom at hour 24", ticket({ validFrom: "20240101240000" }), "validFrom"],
    ["a validFrom at second 60", ticket({ validFrom: "20240101115960" }), "validFrom"],
    ["a validFrom in year 0000", ticket({ validFrom: "00000101120000" }), "validFrom"],
    ["a missing validTo", ticket({ validTo: null }), "validTo"],
    ["a validTo with a trailing space", ticket({ validTo: "20240101120200 " }), "validTo"],
    ["validFrom after validTo", ticket({ validFrom: "20240101120201" }), "validFrom after validTo"],
    ["a missing data field", ticket({ data: null }), "data"],
    ["a malformed percent escape in data", ticket({ data: "%7B%22host%ZZ" }), "data"],
    ["a lone percent sign in data", ticket({ data: DATA + "%" }), "data"],
    ["data escaping invalid UTF-8", ticket({ data: "%7B%FF%7D" }), "data"],
    ["data that is not JSON", ticket({ data: "host%3Dh" }), "data"],
    ["data that is a JSON array", ticket({ data: dataOf(["h", "5900"]) }), "data"],
    ["data with raw spaces", ticket({ data: '{"host": "h", "port": "5900", "ssl_target": false}' }), "data"],
    ["data with raw non-ASCII", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false }) + "é" }), "data"],
    ["a missing host", ticket({ data: dataOf({ port: "5900", ssl_target: false }) }), "host"],
    ["an empty host", ticket({ data: dataOf({ host: "", port: "5900", ssl_target: false }) }), "host"],
    ["a numeric host", ticket({ data: dataOf({ host: 2130706433, port: "5900", ssl_target: false }) }), "host"],
    ["a host with a space", ticket({ data: dataOf({ host: "a b", port: "5900", ssl_target: false }) }), "host"],
    ["a host with a control character", ticket({ data: dataOf({ host: "a\nb", port: "5900", ssl_target: false }) }), "host"],
    ["an overlong host", ticket({ data: dataOf({ host: "a".repeat(256), port: "5900", ssl_target: false }) }), "host"],
    ["a missing port", ticket({ data: dataOf({ host: "h", ssl_target: false }) }), "port"],
    ["port zero", ticket({ data: dataOf({ host: "h", port: "0", ssl_target: false }) }), "port"],
    ["port 65536", ticket({ data: dataOf({ host: "h", port: "65536", ssl_target: false }) }), "port"],
    ["port 65536 as a number", ticket({ data: dataOf({ host: "h", port: 65536, ssl_target: false }) }), "port"],
    ["a port with a leading zero", ticket({ data: dataOf({ host: "h", port: "05900", ssl_target: false }) }), "port"],
    ["a port with whitespace", ticket({ data: dataOf({ host: "h", port: " 5900", ssl_target: false }) }), "port"],
    ["a port in hex", ticket({ data: dataOf({ host: "h", port: "0x170c", ssl_target: false }) }), "port"],
    ["a fractional port", ticket({ data: dataOf({ host: "h", port: 5900.5, ssl_target: false }) }), "port"],
    ["a negative port", ticket({ data: dataOf({ host: "h", port: -5900, ssl_target: false }) }), "port"],
    ["a port with a range", ticket({ data: dataOf({ host: "h", port: "5900-5910", ssl_target: false }) }), "port"],
    ["a null port", ticket({ data: dataOf({ host: "h", port: null, ssl_target: false }) }), "port"],
    ["ssl_target missing", ticket({ data: dataOf({ host: "h", port: "5900" }) }), "ssl_target"],
    ["ssl_target as a string", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: "false" }) }), "ssl_target"],
    ["ssl_target as a number", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: 0 }) }), "ssl_target"],
    ["a relative path", ticket({ data: dataOf({ host: "h", port: "443", ssl_target: false, path: "vnc" }) }), "path"],
    ["a path with a space (request-line injection)", ticket({ data: dataOf({ host: "h", port: "443", ssl_target: false, path: "/a HTTP/1.1\r\nX: y" }) }), "path"],
    ["a non-boolean view_only", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false, view_only: "yes" }) }), "view_only"],
    ["a numeric path", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false, path: 1 }) }), "path"],
    ["an object token", ticket({ data: dataOf({ host: "h", port: "5900", ssl_target: false, token: {} }) }), "token"],
    ["no v2_signature", ticket({ v2_signature: null }), "no v2_signature"],
    ["only a legacy signature", ticket({ v2_signature: null, signature: SIG }), "no v2_signature"],
    ["an empty v2_signature", ticket({ v2_signature: "" }), "v2_signature"],
    ["a v2_signature that is not base64", ticket({ v2_signature: "not base64!" }), "v2_signature"],
  ];

  test.each(bad)("%s", (_name, raw, reason) => {
    const result = decodeTicket(raw);
    expect(result).toEqual({ ok: false, reason: `malformed ticket: ${reason}` });
  });

  test("a reason never contains the ticket's field values", () => {
    const secretHost = "secret-host.example";
    const raw = ticket({ data: dataOf({ host: secretHost, port: "99999", ssl_target: false }) });
    const result = decodeTicket(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).not.toContain(secretHost);
      expect(result.reason).not.toContain("99999");
    }
  });

  test("a non-string argument is rejected rather than thrown on", () => {
    expect(decodeTicket(undefined as unknown as string).ok).toBe(false);
    expect(decodeTicket(42 as unknown as string).ok).toBe(false);
  });

  test("exactly the size limit is still read; one block more is refused unread", () => {
    const padded = encodeTicket({ ...fields(), pad: "x".repeat(MAX_TICKET_LENGTH) });
    expect(decodeTicket(padded)).toEqual({ ok: false, reason: "malformed ticket: too long" });
    const atLimit = "A".repeat(MAX_TICKET_LENGTH);
    expect(decodeTicket(atLimit)).toEqual({ ok: false, reason: "malformed ticket: not JSON" });
  });
});
