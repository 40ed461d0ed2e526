import { describe, expect, test } from "bun:test";
import { RefusalLogLimiter } from "../../src/server/refusal-log.ts";

describe("RefusalLogLimiter", () => {
  test("logs the first 10 refusals of a client in a minute, then counts the rest into one summary", () => {
    const l = new RefusalLogLimiter();
    const allowed = Array.from({ length: 300 }, (_, i) => l.allow("10.0.0.1", i * 10)).filter(Boolean).length;
    expect(allowed).toBe(10);
    expect(l.flush(59_000)).toEqual([]);
    expect(l.flush(60_000)).toEqual([{ client: "10.0.0.1", suppressed: 290 }]);
    expect(l.flush(120_000)).toEqual([]);
  });

  test("clients are counted apart, and a new minute allows 10 lines again", () => {
    const l = new RefusalLogLimiter();
    for (let i = 0; i < 12; i++) l.allow("a", 0);
    expect(l.allow("b", 0)).toBe(true);
    expect(l.allow("a", 60_000)).toBe(true);
    // The ended window was replaced before a flush saw it: its count is still reported.
    expect(l.flush(60_001)).toEqual([{ client: "a", suppressed: 2 }]);
  });

  test("a quiet client produces no summary", () => {
    const l = new RefusalLogLimiter();
    for (let i = 0; i < 10; i++) expect(l.allow("a", i)).toBe(true);
    expect(l.flush(70_000)).toEqual([]);
  });

  test("a limit of 0 logs every refusal", () => {
    const l = new RefusalLogLimiter(0);
    for (let i = 0; i < 100; i++) expect(l.allow("a", i)).toBe(true);
    expect(l.flush(120_000)).toEqual([]);
  });
});
