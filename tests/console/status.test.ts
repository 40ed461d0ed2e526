import { describe, expect, test } from "bun:test";
import { explainEnding, type Ending } from "../../assets/console/status.ts";

const base: Ending = { opened: true, connected: false, code: 1006, reason: "", securityFailure: null, ticketExpired: false };

describe("explainEnding", () => {
  test.each([
    [{ securityFailure: { status: 1, reason: "Authentication failed" }, code: 1000, reason: "Target closed" }, "wrong-password", false],
    [{ opened: false, ticketExpired: true }, "expired", false],
    [{ opened: false }, "refused", false],
    [{ code: 1011, reason: "Target unreachable" }, "target-unreachable", true],
    [{ code: 1000, reason: "Target closed", connected: true }, "vm-gone", true],
    [{ code: 1000, reason: "Target closed" }, "target-unreachable", true],
    [{ code: 1001, connected: true }, "shutdown", true],
    [{ code: 1008, reason: "session time limit", connected: true }, "limit", false],
    [{ code: 1009, connected: true }, "limit", false],
    [{ code: 1006, connected: true }, "lost", true],
    [{ code: 4000, connected: true }, "closed", true],
  ] as [Partial<Ending>, string, boolean][])("%j is %s (retry %p)", (over, kind, retry) => {
    const e = explainEnding({ ...base, ...over });
    expect(e.kind).toBe(kind as never);
    expect(e.retry).toBe(retry);
    expect(e.message.length).toBeGreaterThan(10);
  });

  test("the server's reason is shown, cleaned of control characters and bounded", () => {
    const e = explainEnding({ ...base, code: 1011, reason: `no route\u0000\u001b[31m${"x".repeat(500)}` });
    expect(e.message).toContain("(no route[31m");
    expect(e.message).not.toContain("\u0000");
    expect(e.message.length).toBeLessThan(250);
  });

  test("the VNC server's own words on an auth failure are kept", () => {
    expect(explainEnding({ ...base, securityFailure: { status: 1, reason: "Too many attempts" } }).message).toContain("Too many attempts");
  });
});
