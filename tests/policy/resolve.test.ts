import { describe, expect, test } from "bun:test";
import { compileAllowlist } from "../../src/policy/allowlist.ts";
import { type Resolver, resolveTarget, systemResolver } from "../../src/policy/resolve.ts";

/** A resolver answering from a table, remembering each question. */
function fakeResolver(table: Record<string, { address: string; family: 4 | 6 }[]>) {
  const asked: string[] = [];
  const resolver: Resolver = async (host) => {
    asked.push(host);
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found;
  };
  return { resolver, asked };
}

const v4 = (address: string) => ({ address, family: 4 as const });
const v6 = (address: string) => ({ address, family: 6 as const });

describe("resolveTarget with an IP literal", () => {
  const tenOnly = compileAllowlist(["10.0.0.0/8"]);

  test("connects to the literal itself without resolving", async () => {
    const { resolver, asked } = fakeResolver({});
    expect(await resolveTarget("10.0.0.5", 5900, tenOnly, resolver)).toEqual({ ok: true, address: "10.0.0.5", family: 4 });
    expect(asked).toEqual([]);
  });

  test("returns IPv6 in canonical form", async () => {
    const list = compileAllowlist(["fd00::/8"]);
    expect(await resolveTarget("FD00:0:0::05", 5900, list)).toEqual({ ok: true, address: "fd00::5", family: 6 });
  });

  test("refuses a disallowed port with a reason naming it", async () => {
    expect(await resolveTarget("10.0.0.5", 22, tenOnly)).toEqual({ ok: false, reason: "port 22 not allowed for 10.0.0.5" });
  });

  test.each([0, -1, 65536, 5900.5, Number.NaN])("refuses port %p", async (port) => {
    expect(await resolveTarget("10.0.0.5", port, tenOnly)).toEqual({ ok: false, reason: "invalid target port" });
  });
});

const HOSTILE = [
  "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f.1", "127.1", "::ffff:127.0.0.1", "::127.0.0.1", "fe80::1%eth0",
  "127.0.0.1.", "LOCALHOST", "localhost.", "0.0.0.0", "::", "[::1]", "169.254.169.254", "224.0.0.1",
  "255.255.255.255", "ff02::1", " 127.0.0.1", "127.0.0.1\n", "017700000001", "0x7f000001", "127.000.000.001",
  "[127.0.0.1]", "::ffff:7f00:1", "64:ff9b::7f00:1", "FE80::1", "Localhost", "local host", "127.0.0.1:5900",
  "", "localhost\u0000.example.com",
];

describe("resolveTarget refuses hostile spellings", () => {
  /** Answers loopback for anything, so a spelling that slipped past validation would pass the "any" list. */
  function spyResolver() {
    const asked: string[] = [];
    const resolver: Resolver = async (host) => {
      asked.push(host);
      return [v4("127.0.0.1")];
    };
    return { resolver, asked };
  }
  const spy = spyResolver().resolver;

  test.each(HOSTILE)("%p when only 10.0.0.0/8 is allowed, without asking the resolver", async (host) => {
    const { resolver, asked } = spyResolver();
    const result = await resolveTarget(host, 5900, compileAllowlist(["10.0.0.0/8"]), resolver);
    expect(result.ok).toBe(false);
    expect(asked).toEqual([]);
  });

  test.each(HOSTILE)("%p even when any unicast host is allowed", async (host) => {
    const { resolver, asked } = spyResolver();
    const result = await resolveTarget(host, 5900, compileAllowlist([]), resolver);
    expect(result.ok).toBe(false);
    expect(asked).toEqual([]);
  });

  test.each([
    ["2130706433", "invalid target host"],
    ["127.1", "invalid target host"],
    ["LOCALHOST", "invalid target host"],
    ["[::1]", "invalid target host"],
    ["169.254.169.254", "target 169.254.169.254 is link-local"],
    ["::ffff:127.0.0.1", "IPv4-mapped IPv6 address not allowed: ::ffff:127.0.0.1"],
  ])("%p gets the reason %p", async (host, reason) => {
    expect(await resolveTarget(host, 5900, compileAllowlist([]), spy)).toEqual({ ok: false, reason });
  });
});

describe("resolveTarget with a host name", () => {
  const tenOnly = compileAllowlist(["10.0.0.0/8"]);

  test("resolves once and connects to the first address", async () => {
    const { resolver, asked } = fakeResolver({ "kvm1.example.com": [v4("10.0.0.7"), v4("10.0.0.8")] });
    expect(await resolveTarget("kvm1.example.com", 5901, tenOnly, resolver)).toEqual({ ok: true, address: "10.0.0.7", family: 4 });
    expect(asked).toEqual(["kvm1.example.com"]);
  });

  test("refuses a name resolving to a forbidden address among allowed ones", async () => {
    const { resolver } = fakeResolver({ "evil.example.com": [v4("10.0.0.7"), v4("169.254.169.254"), v4("10.0.0.8")] });
    expect(await resolveTarget("evil.example.com", 5900, compileAllowlist([]), resolver)).toEqual({
      ok: false,
      reason: "target host name resolves to a forbidden address (target 169.254.169.254 is link-local)",
    });
  });

  test("refuses a name resolving to a disallowed address among allowed ones", async () => {
    const { resolver } = fakeResolver({ "mixed.example.com": [v4("10.0.0.7"), v4("192.168.0.1")] });
    expect(await resolveTarget("mixed.example.com", 5900, tenOnly, resolver)).toEqual({
      ok: false,
      reason: "target mixed.example.com (192.168.0.1) not allowed",
    });
  });

  test.each([
    ["an IPv4-mapped address", [v6("::ffff:10.0.0.1")], "target host name resolves to a forbidden address (IPv4-mapped IPv6 address not allowed: ::ffff:10.0.0.1)"],
    ["a zone id", [v6("fe80::1%eth0")], "target host name resolves to an unusable address"],
    ["a non-canonical IPv4", [v4("010.0.0.1")], "target host name resolves to an unusable address"],
    ["a multicast second address", [v4("10.0.0.1"), v6("ff02::1")], "target host name resolves to a forbidden address (target ff02::1 is multicast)"],
  ])("refuses a resolver answer with %s", async (_what, answer, reason) => {
    const { resolver } = fakeResolver({ "odd.example.com": answer });
    expect(await resolveTarget("odd.example.com", 5900, compileAllowlist([]), resolver)).toEqual({ ok: false, reason });
  });

  test("allows a name rule's host wherever it resolves", async () => {
    const list = compileAllowlist(["kvm1.example.com:5900"]);
    const { resolver } = fakeResolver({ "kvm1.example.com": [v6("2001:db8::7")], "kvm2.example.com": [v6("2001:db8::7")] });
    expect(await resolveTarget("kvm1.example.com", 5900, list, resolver)).toEqual({ ok: true, address: "2001:db8::7", family: 6 });
    expect((await resolveTarget("kvm2.example.com", 5900, list, resolver)).ok).toBe(false);
    expect((await resolveTarget("2001:db8::7", 5900, list, resolver)).ok).toBe(false);
  });

  test("reports a resolver failure as cannot resolve", async () => {
    const { resolver } = fakeResolver({});
    expect(await resolveTarget("nowhere.example.com", 5900, tenOnly, resolver)).toEqual({
      ok: false,
      reason: "cannot resolve target host",
    });
  });

  test("reports an empty answer as cannot resolve", async () => {
    const { resolver } = fakeResolver({ "empty.example.com": [] });
    expect(await resolveTarget("empty.example.com", 5900, tenOnly, resolver)).toEqual({
      ok: false,
      reason: "cannot resolve target host",
    });
  });
});

describe("the system resolver", () => {
  test("resolves localhost to an allowed loopback address", async () => {
    const found = await systemResolver("localhost");
    expect(found.length).toBeGreaterThan(0);
    const result = await resolveTarget("localhost", 5900, compileAllowlist([]));
    expect(result.ok).toBe(true);
    if (result.ok) expect(["127.0.0.1", "::1"]).toContain(result.address);
  });
});
