import { describe, expect, test } from "bun:test";
import { desEcbEncrypt, vncAuthKey, vncAuthResponse } from "../../src/rfb/des.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const counting = new Uint8Array(16).map((_, i) => i);

describe("DES-ECB", () => {
  test("matches the classic FIPS 46 worked example", () => {
    expect(hex(desEcbEncrypt(bytes("133457799bbcdff1"), bytes("0123456789abcdef")))).toBe("85e813540f0ab405");
  });

  test("refuses a key or block of the wrong size", () => {
    expect(() => desEcbEncrypt(new Uint8Array(7), new Uint8Array(8))).toThrow(RangeError);
    expect(() => desEcbEncrypt(new Uint8Array(8), new Uint8Array(9))).toThrow(RangeError);
  });
});

describe("vncAuthKey", () => {
  test("reverses the bits of every password byte", () => {
    // "password" = 70 61 73 73 77 6f 72 64, each byte mirrored.
    expect(hex(vncAuthKey("password"))).toBe("0e86ceceeef64e26");
  });

  test.each([
    ["an empty password is all zero", "", "0000000000000000"],
    ["a short password is zero-padded", "a", "8600000000000000"],
    ["only the first 8 characters count", "passwordEXTRA", "0e86ceceeef64e26"],
  ])("%s", (_name, password, key) => {
    expect(hex(vncAuthKey(password))).toBe(key);
  });
});

describe("vncAuthResponse", () => {
  test("matches OpenSSL's DES-ECB with the bit-reversed key", () => {
    // printf 000102..0f | xxd -r -p | openssl enc -des-ecb -K 0e86ceceeef64e26 -nopad -provider legacy -provider default
    expect(hex(vncAuthResponse(counting, "password"))).toBe("b866924125c8eebb9debc1db61c538e2");
  });

  test("gives a different answer for a different password", () => {
    expect(hex(vncAuthResponse(counting, "passwore"))).not.toBe("b866924125c8eebb9debc1db61c538e2");
  });

  test.each([0, 8, 15, 17, 32])("refuses a challenge of %i bytes", (n) => {
    expect(() => vncAuthResponse(new Uint8Array(n), "x")).toThrow(RangeError);
  });
});
