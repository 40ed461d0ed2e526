import { describe, expect, test } from "bun:test";
import { ticketHash } from "../../src/ticket/hash.ts";
import { signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys } from "../helpers/engine-keys.ts";

describe("ticketHash", () => {
  test("a re-encoded ticket (an unsigned outer field changed) keeps its name; another ticket does not", () => {
    const keys = makeEngineKeys();
    try {
      const t = signTicket({ keyPem: keys.keyPem, certPem: keys.certPem, host: "127.0.0.1", port: 5900 });
      const obj = JSON.parse(Buffer.from(t, "base64").toString("utf8"));
      const reencoded = Buffer.from(JSON.stringify({ ...obj, certificate: "something else" })).toString("base64");
      expect(reencoded).not.toBe(t);
      expect(ticketHash(reencoded)).toBe(ticketHash(t));
      const other = signTicket({ keyPem: keys.keyPem, certPem: keys.certPem, host: "127.0.0.1", port: 5900 });
      expect(ticketHash(other)).not.toBe(ticketHash(t));
      expect(ticketHash(t)).toMatch(/^[0-9a-f]{12}$/);
    } finally {
      removeEngineKeys(keys);
    }
  });

  test("text without a signature is hashed as it is", () => {
    expect(ticketHash("127.0.0.1:5900")).toMatch(/^[0-9a-f]{12}$/);
    expect(ticketHash("127.0.0.1:5900")).not.toBe(ticketHash("127.0.0.1:5901"));
  });
});
