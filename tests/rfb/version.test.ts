import { describe, expect, test } from "bun:test";
import { readRfbVersion } from "../../src/rfb/version.ts";

const line = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe("readRfbVersion", () => {
  test.each([
    ["RFB 003.008\n", 3, 8],
    ["RFB 003.003\n", 3, 3],
    ["RFB 003.889\n", 3, 889],
    ["RFB 004.001\n", 4, 1],
  ])("reads %j", (text, major, minor) => {
    expect(readRfbVersion(line(text))).toEqual({ major, minor });
    expect(readRfbVersion([...line(text)])).toEqual({ major, minor });
  });

  test.each([
    ["RFB 003.008\r", "no newline"],
    ["RFB 3.8\n    ", "short numbers"],
    ["rfb 003.008\n", "lower case"],
    ["RFB 003.00a\n", "a letter"],
    ["RFB 003.008\n\n", "one byte too many"],
    ["RFB 003.008", "one byte too few"],
    ["", "nothing"],
  ])("refuses %j (%s)", (text) => {
    expect(readRfbVersion(line(text))).toBeNull();
  });
});
