import { describe, expect, test } from "bun:test";
import { readSecurityOffer, requiresTls } from "../../src/rfb/security-offer.ts";

const enc = (s: string, ...bytes: number[]) => Uint8Array.from([...new TextEncoder().encode(s), ...bytes]);

describe("readSecurityOffer", () => {
  test("asks for more until the version, count and every type are there", () => {
    const full = enc("RFB 003.008\n", 2, 19, 2);
    for (let n = 0; n < full.length; n++) expect(readSecurityOffer(full.subarray(0, n)).kind).toBe("need-more");
    expect(readSecurityOffer(full)).toEqual({ kind: "types", types: [19, 2] });
  });

  test.each([
    ["an RFB 3.3 server", enc("RFB 003.003\n", 0, 0, 0, 2)],
    ["a refusal (count 0)", enc("RFB 003.008\n", 0, 0, 0, 0, 4)],
    ["not RFB", enc("HTTP/1.1 400 \r\n\r\n")],
  ])("gives up on %s", (_name, bytes) => {
    expect(readSecurityOffer(bytes)).toEqual({ kind: "unknown" });
  });
});

describe("requiresTls", () => {
  test.each([
    [[19], true],
    [[19, 2], false],
    [[2], false],
    [[1, 19], false],
    [[], false],
  ])("%p -> %p", (types, expected) => {
    expect(requiresTls(types as number[])).toBe(expected as boolean);
  });
});
