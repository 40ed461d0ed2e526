import { describe, expect, test } from "bun:test";
import { SERVER_DEFAULTS } from "../../src/config/compile.ts";
import { SessionRegistry } from "../../src/server/limits.ts";
import { LocalStore, type StoredSession } from "../../src/store/session-store.ts";

const session = (id: string, client: string, ticketId: string | null): StoredSession => ({
  id, client, ticketId, ticketHash: "000000000000", targetLabel: "127.0.0.1:5900", openedAt: 0, bytesUp: 0, bytesDown: 0,
});

describe("LocalStore (no --store): today's in-process registry", () => {
  test("admitting records the session, so the next admission sees the slot taken", async () => {
    const store = new LocalStore(new SessionRegistry({ ...SERVER_DEFAULTS.limits, maxSessionsPerTicket: 1 }));
    const a = session("s1", "10.0.0.1", "t1");
    expect(await store.admit(a, null, 0)).toBeNull();
    expect(await store.admit(session("s2", "10.0.0.2", "t1"), null, 0)).toMatchObject({ status: 429, code: "cap_ticket" });
    store.remove(a);
    expect(await store.admit(session("s3", "10.0.0.2", "t1"), null, 0)).toBeNull();
    expect(store.status()).toBeNull();
  });

  test("a single-use ticket is remembered until the given time (validTo + skew), not just validTo", async () => {
    const store = new LocalStore(new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true }));
    const a = session("s1", "10.0.0.1", "t1");
    expect(await store.admit(a, 65_000, 0)).toBeNull();
    store.remove(a);
    expect(await store.admit(session("s2", "10.0.0.1", "t1"), null, 64_000)).toMatchObject({ status: 403, code: "ticket_reused" });
    store.registry.sweep(65_001);
    expect(await store.admit(session("s3", "10.0.0.1", "t1"), null, 65_001)).toBeNull();
  });
});

describe("a session admitted but never opened (upgrade failed, client left)", () => {
  test("LocalStore: abandon frees its slots and gives the single-use ticket back", async () => {
    const store = new LocalStore(new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true, maxSessionsPerIp: 1 }));
    const a = session("s1", "10.0.0.1", "t1");
    expect(await store.admit(a, 65_000, 0)).toBeNull();
    store.abandon(a);
    expect(store.registry.open.size).toBe(0);
    expect(await store.admit(session("s2", "10.0.0.1", "t1"), 65_000, 1)).toBeNull();
  });
});

describe("SessionRegistry support for a fleet store", () => {
  test("forgetUse undoes the single-use mark of a session the fleet refused; rememberedUses lists what is kept", () => {
    const r = new SessionRegistry({ ...SERVER_DEFAULTS.limits, singleUse: true });
    const a = session("s1", "10.0.0.1", "t1");
    r.add(a, 5000);
    r.add(session("s2", "10.0.0.1", "t2"), 7000);
    expect([...r.rememberedUses()]).toEqual([["t1", 5000], ["t2", 7000]]);
    r.remove(a);
    r.forgetUse("t1");
    expect(r.admit("10.0.0.1", "t1", 0)).toBeNull();
    expect([...r.rememberedUses()]).toEqual([["t2", 7000]]);
  });
});
