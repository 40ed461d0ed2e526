import { describe, expect, test } from "bun:test";
import { printable } from "../src/printable.ts";

describe("printable", () => {
  test.each([
    ["plain text stays as it is", "Origin https://a.example", 80, "Origin https://a.example"],
    ["control characters become ?", "a\r\nb\x00c\x1b[31m", 80, "a??b?c?[31m"],
    ["non-ASCII becomes ? per UTF-16 unit", "café", 80, "caf?"],
    ["exactly at the limit is not cut", "abcde", 5, "abcde"],
    ["one over the limit is cut and marked", "abcdef", 5, "abcde..."],
    ["empty stays empty", "", 5, ""],
  ])("%s", (_name, text, max, expected) => {
    expect(printable(text, max)).toBe(expected);
  });
});
