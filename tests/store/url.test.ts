import { describe, expect, test } from "bun:test";
import { parseStoreUrl, redactStoreUrl } from "../../src/store/url.ts";
import { BadValue } from "../../src/config/values.ts";

describe("parseStoreUrl", () => {
  test.each([
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379", false],
    ["redis://[::1]:6380/2", "redis://[::1]:6380/2", false],
    ["rediss://redis.example:6380", "rediss://redis.example:6380", true],
    ["redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0", false],
    ["redis://user:secret@127.0.0.1:6379", "redis://user:***@127.0.0.1:6379", false],
  ])("accepts %s, shown as %s", (value, shown, tls) => {
    const a = parseStoreUrl(value);
    expect(a.shown).toBe(shown);
    expect(a.tls).toBe(tls);
    expect(a.shown).not.toContain("secret");
  });

  test.each([
    ["not a url", /expected redis:\/\//],
    ["http://127.0.0.1:6379", /scheme "http" not supported/],
    ["redis://127.0.0.1:6379/db", /database .* must be a number/],
    ["redis://127.0.0.1:6379/?x=1", /query/],
  ])("refuses %s, saying only the problem (the caller names where it came from)", (value, re) => {
    expect(() => parseStoreUrl(value)).toThrow(BadValue);
    expect(() => parseStoreUrl(value)).toThrow(re);
  });

  test("a password from a file goes into the connection URL, never into the shown one", () => {
    const a = parseStoreUrl("redis://127.0.0.1:6379", "p@ss word");
    expect(new URL(a.url).password).toBe(encodeURIComponent("p@ss word"));
    expect(a.shown).toBe("redis://:***@127.0.0.1:6379");
  });

  test("a password both in the URL and from a file is refused", () => {
    expect(() => parseStoreUrl("redis://:a@127.0.0.1:6379", "b")).toThrow(/give one/);
  });

  test("redactStoreUrl hides the password even of a URL that does not parse", () => {
    expect(redactStoreUrl("redis://:secret@127.0.0.1:6379")).toBe("redis://:***@127.0.0.1:6379");
    expect(redactStoreUrl("redis://:secret@127.0.0.1:notaport")).toBe("redis://:***@127.0.0.1:notaport");
    expect(redactStoreUrl("redis://user:secret@127.0.0.1:6379/x")).toBe("redis://user:***@127.0.0.1:6379/x");
  });

  test.each([
    ["a slash", "redis://:se/cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"],
    ["an at sign and a slash", "redis://:s@e/cret@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"],
    ["a slash, with a user", "redis://user:se/cret@127.0.0.1:6379", "redis://user:***@127.0.0.1:6379"],
  ])("redactStoreUrl hides all of a password with %s in it (why the URL does not parse)", (_, value, shown) => {
    expect(redactStoreUrl(value)).toBe(shown);
    expect(redactStoreUrl(value)).not.toMatch(/cret/);
  });
});
