import { describe, expect, test } from "bun:test";
import { OTHER_CLIENTS, RefusalLogLimiter } from "../../src/server/refusal-log.ts";

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

  test("past maxClients, new addresses share one budget: memory and lines stay bounded", () => {
    const l = new RefusalLogLimiter(10, 60_000, 3);
    const logged = Array.from({ length: 1000 }, (_, i) => l.allow(`10.0.${i >> 8}.${i & 255}`, i)).filter(Boolean).length;
    // 3 tracked clients with one line each, then 10 for all the others together.
    expect(logged).toBe(3 + 10);
    expect(l.flush(61_000)).toEqual([{ client: OTHER_CLIENTS, suppressed: 1000 - 3 - 10 }]);
  });
});
