import { describe, expect, test } from "bun:test";
import { compileAllowlist } from "../../src/policy/allowlist.ts";
import { parseIp } from "../../src/policy/address.ts";
import { ConfigError } from "../../src/errors.ts";

function ip(text: string) {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test address ${text} did not parse`);
  return parsed;
}

describe("an empty allowlist", () => {
  const list = compileAllowlist([]);

  test("describes itself as any unicast host on the VNC ports", () => {
    expect(list.describe()).toBe("any unicast:5900-6923");
  });

  test.each([
    ["127.0.0.1", 5900], ["10.1.2.3", 6923], ["8.8.8.8", 5901], ["::1", 5900], ["2001:db8::5", 6000],
  ])("allows %p port %p", (addr, port) => {
    expect(list.check(ip(addr), port)).toBeNull();
  });

  test.each([
    ["127.0.0.1", 22, "port 22 not allowed for 127.0.0.1"],
    ["127.0.0.1", 5899, "port 5899 not allowed for 127.0.0.1"],
    ["127.0.0.1", 6924, "port 6924 not allowed for 127.0.0.1"],
    ["::1", 80, "port 80 not allowed for ::1"],
    ["127.0.0.1", 0, "port 0 is not a valid port"],
    ["127.0.0.1", 65536, "port 65536 is not a valid port"],
    ["127.0.0.1", 5900.5, "port 5900.5 is not a valid port"],
  ])("refuses %p port %p", (addr, port, reason) => {
    expect(list.check(ip(addr), port)).toBe(reason);
  });

  test.each([
    ["169.254.169.254", "target 169.254.169.254 is link-local"],
    ["0.0.0.0", "target 0.0.0.0 is unspecified"],
    ["224.0.0.1", "target 224.0.0.1 is multicast"],
    ["255.255.255.255", "target 255.255.255.255 is broadcast"],
    ["fe80::1", "target fe80::1 is link-local"],
    ["::", "target :: is unspecified"],
    ["ff02::1", "target ff02::1 is multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped IPv6 address not allowed: ::ffff:127.0.0.1"],
  ])("never allows the forbidden address %p", (addr, reason) => {
    expect(list.check(ip(addr), 5900)).toBe(reason);
  });
});

describe("CIDR rules", () => {
  test.each([
    [["10.0.0.0/8"], "10.0.0.0", 5900, true],
    [["10.0.0.0/8"], "10.255.255.255", 6923, true],
    [["10.0.0.0/8"], "11.0.0.0", 5900, false],
    [["10.0.0.0/8"], "9.255.255.255", 5900, false],
    [["192.168.1.0/25"], "192.168.1.127", 5900, true],
    [["192.168.1.0/25"], "192.168.1.128", 5900, false],
    [["192.168.1.5"], "192.168.1.5", 5900, true],
    [["192.168.1.5"], "192.168.1.6", 5900, false],
    [["0.0.0.0/0"], "203.0.113.9", 5900, true],
    [["0.0.0.0/0"], "::1", 5900, false],
    [["fd00::/8"], "fd12:3456::1", 5900, true],
    [["fd00::/8"], "fe00::1", 5900, false],
    [["fd00::/8"], "10.0.0.1", 5900, false],
    [["2001:db8::/33"], "2001:db8:7fff::1", 5900, true],
    [["2001:db8::/33"], "2001:db8:8000::1", 5900, false],
    [["::/0"], "2001:db8::1", 5900, true],
    [["::/0"], "127.0.0.1", 5900, false],
    [["::1"], "::1", 5900, true],
    [["[::1]"], "::1", 5900, true],
    [["[fd00::1]:5900,5901"], "fd00::1", 5901, true],
    [["[fd00::1]:5900,5901"], "fd00::1", 5902, false],
    [["[fd00::/16]:5900"], "fd00:1::1", 5900, true],
    [["2001:DB8::/32"], "2001:db8::1", 5900, true],
  ])("%p matches %p port %p: %p", (specs, addr, port, allowed) => {
    const list = compileAllowlist(specs);
    expect(list.check(ip(addr), port) === null).toBe(allowed);
  });

  test("reports a host outside every rule as not allowed", () => {
    expect(compileAllowlist(["10.0.0.0/8"]).check(ip("11.0.0.1"), 5900)).toBe("target 11.0.0.1 not allowed");
  });

  test("a rule covering a forbidden range still never allows it", () => {
    const list = compileAllowlist(["0.0.0.0/0:1-65535", "::/0:1-65535"]);
    expect(list.check(ip("169.254.169.254"), 80)).toBe("target 169.254.169.254 is link-local");
    expect(list.check(ip("fe80::1"), 5900)).toBe("target fe80::1 is link-local");
    expect(list.check(ip("10.0.0.1"), 22)).toBeNull();
  });
});

describe("port lists", () => {
  test.each([
    ["192.168.1.5:5900", 5900, true],
    ["192.168.1.5:5900", 5901, false],
    ["192.168.1.5:5900-5910", 5910, true],
    ["192.168.1.5:5900-5910", 5911, false],
    ["192.168.1.5:5900,5902", 5902, true],
    ["192.168.1.5:5900,5902", 5901, false],
    ["192.168.1.5:22,5900-5901", 22, true],
    ["192.168.1.5:22,5900-5901", 5901, true],
    ["10.0.0.0/8:5900-5999", 5999, true],
    ["10.0.0.0/8:5900-5999", 6000, false],
    ["fd00::/8:5900-5999", 5950, true],
    ["fd00::/8:5900-5999", 6923, false],
    ["10.0.0.0/8", 6923, true],
    ["10.0.0.0/8", 6924, false],
  ])("%p and port %p: allowed %p", (spec, port, allowed) => {
    const addr = spec.startsWith("fd") ? "fd00::5" : spec.startsWith("10.") ? "10.0.0.5" : "192.168.1.5";
    expect(compileAllowlist([spec]).check(ip(addr), port) === null).toBe(allowed);
  });

  test("names the port and target when only the port is wrong", () => {
    expect(compileAllowlist(["10.0.0.0/8"]).check(ip("10.0.0.5"), 22)).toBe("port 22 not allowed for 10.0.0.5");
  });

  test("any rule allowing the host and port is enough", () => {
    const list = compileAllowlist(["10.0.0.0/8:5900", "10.0.0.5:22"]);
    expect(list.check(ip("10.0.0.5"), 22)).toBeNull();
    expect(list.check(ip("10.0.0.6"), 22)).toBe("port 22 not allowed for 10.0.0.6");
  });
});

describe("name rules", () => {
  const list = compileAllowlist(["kvm1.example.com:5900-5910", "*.pool.example.com", "localhost"]);

  test("allow the named host at whatever it resolved to", () => {
    expect(list.check(ip("10.9.9.9"), 5905, "kvm1.example.com")).toBeNull();
    expect(list.check(ip("127.0.0.1"), 5900, "localhost")).toBeNull();
    expect(list.check(ip("::1"), 6923, "localhost")).toBeNull();
  });

  test("do not allow the address on its own or under another name", () => {
    expect(list.check(ip("10.9.9.9"), 5905)).toBe("target 10.9.9.9 not allowed");
    expect(list.check(ip("10.9.9.9"), 5905, "kvm2.example.com")).toBe("target kvm2.example.com (10.9.9.9) not allowed");
    expect(list.check(ip("10.9.9.9"), 5905, "xkvm1.example.com")).not.toBeNull();
  });

  test("check the ports of the rule", () => {
    expect(list.check(ip("10.9.9.9"), 5911, "kvm1.example.com")).toBe("port 5911 not allowed for kvm1.example.com (10.9.9.9)");
  });

  test("wildcards match subdomains but not the domain itself", () => {
    expect(list.check(ip("10.1.1.1"), 5900, "a.pool.example.com")).toBeNull();
    expect(list.check(ip("10.1.1.1"), 5900, "a.b.pool.example.com")).toBeNull();
    expect(list.check(ip("10.1.1.1"), 5900, "pool.example.com")).not.toBeNull();
    expect(list.check(ip("10.1.1.1"), 5900, "xpool.example.com")).not.toBeNull();
  });

  test("never allow a forbidden address even for an allowed name", () => {
    expect(list.check(ip("169.254.169.254"), 5900, "kvm1.example.com")).toBe("target 169.254.169.254 is link-local");
  });

  test("are lowercased when configured", () => {
    expect(compileAllowlist(["KVM1.Example.com"]).check(ip("10.0.0.1"), 5900, "kvm1.example.com")).toBeNull();
  });
});

describe("describe()", () => {
  test("lists every rule with its ports", () => {
    const list = compileAllowlist([
      "10.0.0.0/8", "192.168.1.5:5900", "fd00::/8:5900-5999", "[fd00::1]:5900,5901", "kvm1.example.com:5900-6923",
      "*.example.org", "*:5900", "::1",
    ]);
    expect(list.describe()).toBe(
      "10.0.0.0/8:5900-6923, 192.168.1.5:5900, [fd00::/8]:5900-5999, [fd00::1]:5900,5901, kvm1.example.com:5900-6923, " +
        "*.example.org:5900-6923, any unicast:5900, [::1]:5900-6923",
    );
  });
});

describe("bad specs", () => {
  test.each([
    ["", "empty rule"],
    ["10.0.0.1/8", "host bits set (did you mean 10.0.0.0/8?)"],
    ["10.0.0.0/33", "prefix length must be 0-32"],
    ["fd00::/129", "prefix length must be 0-128"],
    ["10.0.0.0/08", "prefix length must be 0-32"],
    ["10.0.0.0/", "prefix length must be 0-32"],
    ["127.1", "neither a canonical IP address"],
    ["2130706433", "neither a canonical IP address"],
    ["0x7f.0.0.1", "neither a canonical IP address"],
    ["010.0.0.1", "neither a canonical IP address"],
    ["10.0.0.1.", "neither a canonical IP address"],
    ["host_name", "neither a canonical IP address"],
    ["10.0.0.1:", "empty port list"],
    ["10.0.0.1:0", "bad port \"0\""],
    ["10.0.0.1:65536", "port 65536 out of range"],
    ["10.0.0.1:5910-5900", "backwards"],
    ["10.0.0.1:59a0", "bad port"],
    ["10.0.0.1:5900,", "bad port \"\""],
    ["10.0.0.1:05900", "bad port"],
    ["[fd00::1", "missing ]"],
    ["[fd00::1]5900", "unexpected text after ]"],
    ["[10.0.0.1]:5900", "brackets are only for IPv6"],
    ["fe80::1%eth0", "is not a canonical IP address"],
    ["10.0.0.0/8:", "empty port list"],
    [" 10.0.0.1", "neither a canonical IP address"],
  ])("%p is refused: %p", (spec, problem) => {
    let thrown: unknown;
    try {
      compileAllowlist(["10.0.0.0/8", spec]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toStartWith(`--allow "${spec}": `);
    expect((thrown as Error).message).toContain(problem);
  });
});
