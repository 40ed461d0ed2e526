import { describe, expect, test } from "bun:test";
import { forbiddenReason, formatIp, isValidHostName, parseIp } from "../../src/policy/address.ts";

function ip(text: string) {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`test address ${text} did not parse`);
  return parsed;
}

describe("parseIp", () => {
  test.each([
    ["0.0.0.0", [0, 0, 0, 0]],
    ["127.0.0.1", [127, 0, 0, 1]],
    ["10.20.30.40", [10, 20, 30, 40]],
    ["255.255.255.255", [255, 255, 255, 255]],
  ])("reads canonical IPv4 %p", (text, bytes) => {
    expect(parseIp(text)).toEqual({ family: 4, bytes: new Uint8Array(bytes) });
  });

  test.each([
    "127.1", "127.0.1", "2130706433", "0x7f.0.0.1", "0x7f.1", "0177.0.0.1", "010.0.0.1", "00.0.0.0",
    "1..2.3", "1.2.3.", ".1.2.3.4", "127.0.0.1.", " 127.0.0.1", "127.0.0.1\n", "127.0.0.1 ",
    "256.0.0.1", "1.2.3.4.5", "1.2.3.-4", "+1.2.3.4", "1.2.3.4/32", "", "localhost", "１２７.0.0.1",
    "1e2.0.0.1",
  ])("refuses IPv4 spelling %p", (text) => {
    expect(parseIp(text)).toBeNull();
  });

  test.each([
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["fe80::1", "fe80::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"],
    ["::ffff:127.0.0.1", "::ffff:127.0.0.1"],
    ["::FFFF:7f00:1", "::ffff:127.0.0.1"],
    ["::127.0.0.1", "::7f00:1"],
    ["64:ff9b::10.0.0.1", "64:ff9b::a00:1"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ])("reads IPv6 %p and formats it as %p", (text, canonical) => {
    const parsed = parseIp(text);
    expect(parsed?.family).toBe(6);
    expect(formatIp(parsed!)).toBe(canonical);
  });

  test.each([
    "fe80::1%eth0", "[::1]", "[::1]:5900", ":::", "1:::2", "1::2::3", ":1::", "1::2:", "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::1", "g::1", "::ffff:127.1",
    "::ffff:0177.0.0.1", "::1.2.3.4:5", "1.2.3.4::", " ::1", "::1\n", "::1/128", "1:2:3:4:5:6:7:1.2.3.4",
  ])("refuses IPv6 spelling %p", (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe("forbiddenReason", () => {
  test.each([
    ["0.0.0.0", "target 0.0.0.0 is unspecified"],
    ["0.1.2.3", "target 0.1.2.3 is unspecified"],
    ["169.254.169.254", "target 169.254.169.254 is link-local"],
    ["224.0.0.1", "target 224.0.0.1 is multicast"],
    ["239.255.255.250", "target 239.255.255.250 is multicast"],
    ["255.255.255.255", "target 255.255.255.255 is broadcast"],
    ["240.0.0.1", "target 240.0.0.1 is reserved"],
    ["::", "target :: is unspecified"],
    ["fe80::1", "target fe80::1 is link-local"],
    ["febf::1", "target febf::1 is link-local"],
    ["ff02::1", "target ff02::1 is multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped IPv6 address not allowed: ::ffff:127.0.0.1"],
    ["::ffff:0:10.0.0.1", "IPv4-mapped IPv6 address not allowed: ::ffff:0:a00:1"],
    ["::127.0.0.1", "IPv4-compatible IPv6 address not allowed: ::7f00:1"],
    ["64:ff9b::169.254.169.254", "IPv4-translated (NAT64) IPv6 address not allowed: 64:ff9b::a9fe:a9fe"],
  ])("refuses %p as a target", (text, reason) => {
    expect(forbiddenReason(ip(text))).toBe(reason);
  });

  test.each(["127.0.0.1", "10.0.0.5", "169.253.255.255", "169.255.0.1", "223.255.255.255", "1.1.1.1",
    "::1", "fd00::1", "2001:db8::1", "fec0::1", "fe7f::1"])("lets unicast %p through", (text) => {
    expect(forbiddenReason(ip(text))).toBeNull();
  });
});

describe("isValidHostName", () => {
  test.each(["localhost", "kvm1.example.com", "a-b.c", "x", "host1", "xn--bcher-kva.example"])("accepts %p", (name) => {
    expect(isValidHostName(name)).toBe(true);
  });
  test.each(["LOCALHOST", "Kvm1.example.com", "localhost.", "a..b", ".a", "-a.b", "a-.b", "a_b.c", "a b", "",
    "127.1", "2130706433", "0x7f", "0x7f.1", "1.2.3.4", "a.0X7f", "[::1]", "a".repeat(64) + ".com",
    `${"a.".repeat(127)}ab`])("refuses %p", (name) => {
    expect(isValidHostName(name)).toBe(false);
  });
});
