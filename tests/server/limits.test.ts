import { describe, expect, test } from "bun:test";
import { SERVER_DEFAULTS } from "../../src/config/compile.ts";
import { SessionRegistry, perIpKey, singleUseExpiry, type TrackedSession } from "../../src/server/limits.ts";

const session = (client: string, ticketId: string | null, openedAt = 0): TrackedSession => ({ client, ticketId, openedAt, bytesUp: 0, bytesDown: 0 });

describe("SessionRegistry caps", () => {
  test("refuses past the overall, per-address and per-ticket caps, and admits again after a removal", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, maxSessions: 3, maxSessionsPerIp: 2, maxSessionsPerTicket: 1 });
    const a = session("10.0.0.1", "t1");
    r.add(a, null);
    expect(r.admit("10.0.0.9", "t1", 0)?.code).toBe("cap_ticket");
    r.add(session("10.0.0.1", "t2"), null);
    expect(r.admit("10.0.0.1", "t3", 0)?.code).toBe("cap_ip");
    r.add(session("10.0.0.2", "t3"), null);
    expect(r.admit("10.0.0.3", "t4", 0)).toMatchObject({ status: 503, code: "cap_total" });
    r.remove(a);
    expect(r.admit("10.0.0.1", "t1", 0)).toBeNull();
  });

  test("single use: a ticket is refused again until it expires, then forgotten", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true });
    const s = session("10.0.0.1", "t1");
    r.add(s, 5000);
    r.remove(s);
    expect(r.admit("10.0.0.1", "t1", 4000)).toMatchObject({ status: 403, code: "ticket_reused" });
    r.sweep(6000);
    expect(r.rememberedTickets).toBe(0);
    expect(r.admit("10.0.0.1", "t1", 6000)).toBeNull();
  });
});

describe("SessionRegistry time limits", () => {
  test("idle is measured from the last sweep that saw the byte counters move", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, idleTimeoutSeconds: 2 });
    const busy = session("a", null);
    const quiet = session("b", null);
    r.add(busy, null);
    r.add(quiet, null);
    for (let t = 1000; t <= 3000; t += 1000) {
      busy.bytesDown += 10;
      const closed = r.sweep(t).map((x) => x.session);
      expect(closed).not.toContain(busy);
      if (t < 2000) expect(closed).not.toContain(quiet);
    }
    expect(r.sweep(3000)).toEqual([{ session: quiet, reason: "Idle timeout", outcome: "idle_timeout" }]);
    // busy last moved at 3000: still open at 4999, idle at 5000
    expect(r.sweep(4999).map((x) => x.session)).not.toContain(busy);
    expect(r.sweep(5000).map((x) => x.session)).toContain(busy);
  });

  test("the absolute limit closes a session however busy it is", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, sessionMaxSeconds: 1 });
    const s = session("a", null, 0);
    r.add(s, null);
    s.bytesUp = 99;
    expect(r.sweep(999)).toEqual([]);
    expect(r.sweep(1000)).toEqual([{ session: s, reason: "Session time limit reached", outcome: "time_limit" }]);
  });
});

describe("single use without a replay gap", () => {
  test("a used ticket is remembered until validTo + clock skew, exactly as long as verification accepts it", () => {
    expect(singleUseExpiry(10_000, 5)).toBe(15_000);
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true });
    const s = session("10.0.0.1", "t1");
    r.add(s, singleUseExpiry(10_000, 5));
    r.remove(s);
    // Between validTo and validTo + skew the ticket still verifies, so it must still be refused.
    r.sweep(12_000);
    expect(r.admit("10.0.0.1", "t1", 12_000)).toMatchObject({ status: 403, code: "ticket_reused" });
    expect(r.admit("10.0.0.1", "t1", 15_000)).toMatchObject({ code: "ticket_reused" });
    r.sweep(15_001);
    expect(r.rememberedTickets).toBe(0);
  });
});

describe("per-IP cap groups IPv6 clients by prefix", () => {
  test.each([
    ["2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64"],
    ["2001:db8:1:3::1", 64, "2001:db8:1:3::/64"],
    ["2001:db8:1:2:aaaa::1", 48, "2001:db8:1::/48"],
    ["2001:db8::1", 128, "2001:db8::1"],
    ["10.1.2.3", 64, "10.1.2.3"],
    ["unknown", 64, "unknown"],
  ] as const)("%s with prefix %d counts as %s", (client, prefix, key) => {
    expect(perIpKey(client, prefix)).toBe(key);
  });

  test("two addresses in one /64 share the cap; another /64 does not", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, maxSessionsPerIp: 1 });
    const a = session("2001:db8:0:1::a", null);
    r.add(a, null);
    expect(r.admit("2001:db8:0:1::b", null, 0)?.code).toBe("cap_ip");
    expect(r.admit("2001:db8:0:2::b", null, 0)).toBeNull();
    r.remove(a);
    expect(r.admit("2001:db8:0:1::b", null, 0)).toBeNull();
  });
});
