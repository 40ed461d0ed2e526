import { describe, expect, test } from "bun:test";
import { BadValue, parseByteSize } from "../../src/config/values.ts";

describe("parseByteSize", () => {
  test.each([
    ["1", 1],
    ["1048576", 1048576],
    ["64KiB", 65536],
    ["512MiB", 512 * 1024 ** 2],
    ["1GiB", 1024 ** 3],
    ["10g", 10 * 1024 ** 3],
    [" 2 m ", 2 * 1024 ** 2],
  ] as const)("%p is %d bytes", (text, n) => {
    expect(parseByteSize(text)).toBe(n);
  });

  test.each(["", "0", "-1", "1.5GiB", "1GB", "1 PiB", "0x10", "1e9", "99999999999999999"])("%p is refused", (text) => {
    expect(() => parseByteSize(text)).toThrow(BadValue);
  });
});
