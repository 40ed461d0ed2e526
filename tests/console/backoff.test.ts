import { describe, expect, test } from "bun:test";
import { DEFAULT_BACKOFF, nextDelay } from "../../assets/console/backoff.ts";

describe("nextDelay", () => {
  test("doubles from the base up to the cap", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => nextDelay(n, 0, null));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 15000, 15000]);
  });

  test("gives up after the last attempt", () => {
    expect(nextDelay(DEFAULT_BACKOFF.maxAttempts, 0, null)).not.toBeNull();
    expect(nextDelay(DEFAULT_BACKOFF.maxAttempts + 1, 0, null)).toBeNull();
    expect(nextDelay(0, 0, null)).toBeNull();
  });

  test("gives up when the ticket would expire before the retry", () => {
    expect(nextDelay(1, 10_000, 11_001)).toBe(1000);
    expect(nextDelay(1, 10_000, 11_000)).toBeNull();
    expect(nextDelay(3, 10_000, 12_000)).toBeNull();
  });
});
