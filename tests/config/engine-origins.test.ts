import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { originsFromCertificate, originsFromEngineConf, uniqueOrigins } from "../../src/config/engine-origins.ts";
import { parseConf } from "../../src/config/ovirt-conf.ts";
import { makeSelfSigned } from "../../src/tls/identity.ts";

describe("originsFromCertificate", () => {
  test("the CN and every DNS and IP subjectAltName, IPv6 in brackets and short", () => {
    const cert = new X509Certificate(makeSelfSigned(["Engine.Example", "alt.example", "192.0.2.5", "fd00::1"]).certPem);
    expect(originsFromCertificate(cert, "engine.cer")).toEqual([
      { origin: "https://engine.example", source: "CN of engine.cer" },
      { origin: "https://engine.example", source: "DNS name in engine.cer" },
      { origin: "https://alt.example", source: "DNS name in engine.cer" },
      { origin: "https://192.0.2.5", source: "IP name in engine.cer" },
      { origin: "https://[fd00::1]", source: "IP name in engine.cer" },
    ]);
  });

  test("a CN that is no host name gives no origin", () => {
    const cert = new X509Certificate(makeSelfSigned(["novnc-proxy demo engine"]).certPem);
    expect(originsFromCertificate(cert, "e.cer").filter((o) => o.source.startsWith("CN"))).toEqual([]);
  });
});

describe("originsFromEngineConf", () => {
  test.each([
    ["ENGINE_FQDN=engine.example", ["https://engine.example"]],
    ['SSO_ALTERNATE_ENGINE_FQDNS="a.example b.example"', ["https://a.example", "https://b.example"]],
    ['ENGINE_FQDN=e.example\nSSO_ALTERNATE_ENGINE_FQDNS=""', ["https://e.example"]],
    ["ENGINE_FQDN=bad/name", []],
    ["OTHER=x.example", []],
  ])("%p gives %p", (text, origins) => {
    expect(originsFromEngineConf(parseConf(text, "10-setup.conf").values).map((o) => o.origin)).toEqual(origins);
  });

  test("each origin says which key and line it came from", () => {
    expect(originsFromEngineConf(parseConf("\nSSO_ALTERNATE_ENGINE_FQDNS=a.example", "f.conf").values)).toEqual([
      { origin: "https://a.example", source: "SSO_ALTERNATE_ENGINE_FQDNS at f.conf:2" },
    ]);
  });
});

test("uniqueOrigins keeps the first source of each origin, comparing normalised", () => {
  const list = [
    { origin: "https://e.example", source: "one" },
    { origin: "https://E.example:443", source: "two" },
    { origin: "https://f.example", source: "three" },
  ];
  expect(uniqueOrigins(list)).toEqual([list[0]!, list[2]!]);
});
