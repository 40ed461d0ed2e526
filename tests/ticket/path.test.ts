import { describe, expect, test } from "bun:test";
import { ticketFromPath } from "../../src/ticket/path.ts";

describe("ticketFromPath", () => {
  test("takes the raw base64 after the first slash without splitting on later slashes", () => {
    expect(ticketFromPath("/eyJh+b/c/d==")).toBe("eyJh+b/c/d==");
  });

  test("keeps plus, slash and equals exactly as sent", () => {
    expect(ticketFromPath("/a+b/c=")).toBe("a+b/c=");
  });

  test("decodes a percent-encoded ticket once", () => {
    expect(ticketFromPath("/eyJh%2Bb%2Fc%3D%3D")).toBe("eyJh+b/c==");
  });

  test("leaves a double-encoded ticket encoded after one decode", () => {
    expect(ticketFromPath("/eyJh%252Bb")).toBe("eyJh%2Bb");
  });

  test("ignores a query string and a fragment", () => {
    expect(ticketFromPath("/abc=?x=1")).toBe("abc=");
    expect(ticketFromPath("/abc=#frag")).toBe("abc=");
  });

  test.each([
    ["an empty path", ""],
    ["a bare slash", "/"],
    ["a slash and a query only", "/?a=b"],
    ["a path without a leading slash", "abc"],
    ["a malformed percent escape", "/abc%ZZ"],
    ["a truncated percent escape", "/abc%2"],
    ["a percent escape of an invalid UTF-8 byte", "/abc%FF"],
    ["an encoding of nothing", "/%"],
  ])("returns null for %s", (_name, path) => {
    expect(ticketFromPath(path)).toBeNull();
  });
});
