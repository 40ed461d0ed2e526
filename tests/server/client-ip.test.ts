import { describe, expect, test } from "bun:test";
import { canonicalPeer, clientAddress } from "../../src/server/client-ip.ts";

const TRUSTED = new Set(["10.0.0.1", "10.0.0.2"]);
const isTrusted = (addr: string) => TRUSTED.has(addr);

describe("canonicalPeer", () => {
  test.each([
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["not an address", "not an address"],
  ])("%s -> %s", (peer, shown) => {
    expect(canonicalPeer(peer)).toBe(shown);
  });
});

describe("clientAddress", () => {
  test("an untrusted peer is the client, whatever X-Forwarded-For claims", () => {
    expect(clientAddress("192.0.2.7", "198.51.100.1", isTrusted)).toBe("192.0.2.7");
  });

  test("a trusted proxy without X-Forwarded-For is itself the client", () => {
    expect(clientAddress("10.0.0.1", null, isTrusted)).toBe("10.0.0.1");
  });

  test("behind a trusted proxy, the right-most address is the client", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.1", isTrusted)).toBe("198.51.100.1");
  });

  test("trusted hops are skipped from the right; addresses further left are the client's own claims", () => {
    expect(clientAddress("10.0.0.1", "203.0.113.9, 198.51.100.1, 10.0.0.2", isTrusted)).toBe("198.51.100.1");
  });

  test("a malformed hop stops the walk at the last address vouched for", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.1, bogus", isTrusted)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "bogus, 198.51.100.1", isTrusted)).toBe("198.51.100.1");
  });

  test("an IPv4-mapped peer is compared and shown as IPv4", () => {
    expect(clientAddress("::ffff:10.0.0.1", "198.51.100.1", isTrusted)).toBe("198.51.100.1");
  });
});
