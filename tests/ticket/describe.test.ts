import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { describeTicket, timeLeft } from "../../src/ticket/describe.ts";
import { encodeTicket, pssSign, signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";

let engine: EngineKeys;
beforeAll(() => {
  engine = makeEngineKeys();
});
afterAll(() => removeEngineKeys(engine));

const NOW = new Date("2024-05-01T10:00:30Z");

function kubevirtTicket(path = "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm/vnc"): string {
  const values: Record<string, string> = {
    salt: Buffer.from("12345678").toString("base64"),
    validFrom: "20240501100000",
    validTo: "20240501100200",
    data: encodeURIComponent(JSON.stringify({ host: "virt.example", port: "443", ssl_target: true, path, token: "s3cr3t-token" })),
  };
  const order = ["salt", "data", "validFrom", "validTo"];
  return encodeTicket({
    ...values,
    signedFields: order.join(","),
    v2_signature: pssSign(order.map((k) => values[k]).join(""), createPrivateKey(engine.keyPem)),
  });
}

describe("describeTicket", () => {
  test("a valid ticket is described field by field and judged valid", () => {
    const raw = signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "10.0.0.5", port: 5900, now: new Date("2024-05-01T10:00:00Z") });
    const d = describeTicket(raw, { engineKey: new X509Certificate(engine.certPem).publicKey, now: NOW, skewSeconds: 5, hash: "abc" });
    expect(d).toMatchObject({ decoded: true, valid: true, reason: null });
    expect(d.lines).toEqual([
      "host          10.0.0.5",
      "port          5900",
      "ssl_target    false",
      "validFrom     2024-05-01T10:00:00Z",
      "validTo       2024-05-01T10:02:00Z",
      "time          90 s left",
      "signedFields  salt,data,validFrom,validTo (java order)",
      "certificate   embedded (never used for verification)",
      "ticket hash   abc",
      "verdict       valid",
    ]);
  });

  test("a KubeVirt token is never shown; the path is", () => {
    const d = describeTicket(kubevirtTicket(), { engineKey: null, now: NOW, skewSeconds: 5, hash: "h" });
    const text = d.lines.join("\n");
    expect(text).not.toContain("s3cr3t-token");
    expect(text).toContain("token         (present, not shown)");
    expect(text).toContain("path          /apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm/vnc");
    expect(d).toMatchObject({ decoded: true, valid: false, reason: null });
  });

  test("a path with control characters is a malformed ticket (it would go into a request line)", () => {
    const d = describeTicket(kubevirtTicket("/a\u001b[31mb"), { engineKey: null, now: NOW, skewSeconds: 5, hash: "h" });
    expect(d.decoded).toBe(false);
    expect(d.lines.join("\n")).not.toContain("\u001b");
  });

  test("a malformed ticket yields only its hash and the reason", () => {
    const d = describeTicket("%%%", { engineKey: null, now: NOW, skewSeconds: 5, hash: "h" });
    expect(d).toEqual({
      decoded: false,
      valid: false,
      reason: "malformed ticket: not base64",
      lines: ["ticket hash   h", "verdict       invalid: malformed ticket: not base64"],
    });
  });

  test.each([
    ["before the window", "2024-05-01T09:59:50Z", "not valid for another 10 s"],
    ["inside the window", "2024-05-01T10:01:00Z", "60 s left"],
    ["after the window", "2024-05-01T10:03:00Z", "expired 60 s ago"],
  ])("timeLeft words a moment %s", (_name, at, words) => {
    expect(timeLeft(new Date("2024-05-01T10:00:00Z"), new Date("2024-05-01T10:02:00Z"), new Date(at))).toBe(words);
  });
});
