import { describe, expect, test } from "bun:test";
import { dialRedis, withDeadline } from "../../src/store/dial.ts";

describe("withDeadline", () => {
  test("passes on what settles in time, value or rejection", async () => {
    expect(await withDeadline(Promise.resolve(7), 1000, () => new Error("late"))).toBe(7);
    await expect(withDeadline(Promise.reject(new Error("refused")), 1000, () => new Error("late"))).rejects.toThrow("refused");
  });

  test("rejects with the caller's error when nothing settles (a frozen Redis never answers)", async () => {
    await expect(withDeadline(new Promise(() => {}), 10, () => new Error("no answer"))).rejects.toThrow("no answer");
  });
});

describe("dialRedis", () => {
  test("throws when nothing listens (no reconnect of its own, nothing queued)", async () => {
    // Bind a port, free it: nothing listens there now.
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = l.port;
    l.stop(true);
    await expect(dialRedis(`redis://127.0.0.1:${port}`, 2000)).rejects.toThrow();
  });
});
