import { describe, expect, test } from "bun:test";
import { ConnectionController, InvalidTransitionError, TRANSITIONS, type ConnectionState } from "../../assets/console/connection.ts";
import type { Handoff } from "../../assets/console/handoff.ts";
import type { Explanation } from "../../assets/console/status.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const HANDOFF: Handoff = { kind: "path", ticket: "TICKET", password: "vnc-pw" };
const LOST: Explanation = { kind: "lost", message: "The connection to the proxy was lost.", retry: true };
const REFUSED: Explanation = { kind: "refused", message: "The proxy refused the connection.", retry: false };

/** A controller on a clock the test moves; the ticket is valid for `validMs` from T0. */
function setup(opts: { validMs?: number | null; engineConfigured?: boolean; viewOnly?: boolean } = {}) {
  const clock = { now: T0 };
  const c = new ConnectionController({
    vmTitle: "web01",
    viewOnly: opts.viewOnly ?? false,
    engineConfigured: opts.engineConfigured ?? true,
    now: () => clock.now,
  });
  const validMs = opts.validMs === undefined ? 120_000 : opts.validMs;
  return { c, clock, start: () => c.handOff(HANDOFF, validMs === null ? null : T0 + validMs) };
}

describe("ConnectionController: the first connection", () => {
  test("waits for the engine, then connects, authenticates and is connected", () => {
    const { c, start } = setup();
    expect(c.view).toMatchObject({ state: "waiting", status: "Waiting for the engine…", canRetry: false, canDisconnect: false });
    start();
    expect(c.connect()).toMatchObject({ state: "connecting", status: "Connecting…", overlay: { title: "Connecting", text: "Opening the console of web01…" } });
    expect(c.opened()).toMatchObject({ state: "authenticating", status: "Connecting…", inputEnabled: false, canDisconnect: true });
    expect(c.established()).toMatchObject({ state: "connected", status: "Connected", inputEnabled: true, canRetry: false, canDisconnect: true });
  });

  test("says when no engine can ever hand it a ticket", () => {
    const { c } = setup({ engineConfigured: false });
    expect(c.view.status).toBe("No engine origin configured");
    expect(c.view.overlay.text).toContain("serve --engine-origin");
  });

  test("a view-only session says so", () => {
    const { c, start } = setup({ viewOnly: true });
    start();
    c.connect();
    c.opened();
    expect(c.established().status).toBe("Connected (view only)");
  });

  test("a ticket whose signed data says view_only makes the session view-only; the next hand-off decides again", () => {
    const { c } = setup();
    const data = encodeURIComponent(JSON.stringify({ host: "10.0.0.1", port: 5900, view_only: true }));
    const viewOnlyTicket = btoa(JSON.stringify({ data, salt: "s", signature: "x" }));
    c.handOff({ ...HANDOFF, ticket: viewOnlyTicket }, null);
    expect(c.viewOnly).toBe(true);
    c.connect();
    c.opened();
    expect(c.established().status).toBe("Connected (view only)");
    c.handOff(HANDOFF, null);
    expect(c.viewOnly).toBe(false);
  });

  test("holds the VNC password only until the session is up", () => {
    const { c, start } = setup();
    start();
    c.connect();
    expect(c.password).toBe("vnc-pw");
    c.opened();
    c.established();
    expect(c.password).toBeNull();
  });

  test("drops the password when an attempt fails, so a manual reconnect asks the user", () => {
    const { c, start } = setup();
    start();
    c.connect();
    c.ended(REFUSED, false);
    expect(c.password).toBeNull();
  });
});

describe("ConnectionController: endings", () => {
  test("a refusal fails at once, with its kind and the Reconnect button while the ticket lasts", () => {
    const { c, start } = setup();
    start();
    c.connect();
    const { view, retryInMs } = c.ended(REFUSED, false);
    expect(retryInMs).toBeNull();
    expect(view).toMatchObject({ state: "failed", failure: "refused", status: REFUSED.message, overlay: { title: "Not connected" }, canRetry: true });
  });

  test("a lost connection retries with growing delays and counts attempts", () => {
    const { c, start } = setup({ validMs: null });
    start();
    c.connect();
    c.opened();
    c.established();
    const first = c.ended(LOST, true);
    expect(first.retryInMs).toBe(1000);
    expect(first.view).toMatchObject({ state: "reconnecting", failure: "lost", status: `${LOST.message} Retrying in 1s…`, canRetry: true });
    expect(c.connect()).toMatchObject({ state: "reconnecting", status: "Reconnecting (attempt 1)…" });
    expect(c.ended(LOST, false).retryInMs).toBe(2000);
    c.connect();
    expect(c.ended(LOST, false).retryInMs).toBe(4000);
    expect(c.attempt).toBe(3);
  });

  test("a reconnect that gets back in starts counting from one again", () => {
    const { c, start } = setup({ validMs: null });
    start();
    c.connect();
    c.ended(LOST, false);
    c.connect();
    c.opened();
    expect(c.established().state).toBe("connected");
    expect(c.attempt).toBe(0);
    expect(c.ended(LOST, true).retryInMs).toBe(1000);
  });

  test("no retry would end after the ticket: it fails and says the ticket has expired", () => {
    const { c, start, clock } = setup({ validMs: 5_000 });
    start();
    c.connect();
    clock.now = T0 + 6_000;
    const { view, retryInMs } = c.ended(LOST, false);
    expect(retryInMs).toBeNull();
    expect(view.state).toBe("failed");
    expect(view.status).toBe(`${LOST.message} The ticket has expired; open the console again from the engine.`);
    expect(view.canRetry).toBe(false);
  });

  test("the user's Disconnect ends in disconnected, not a retry", () => {
    const { c, start } = setup();
    start();
    c.connect();
    c.opened();
    c.established();
    c.disconnectByUser();
    const { view, retryInMs } = c.ended(LOST, true);
    expect(retryInMs).toBeNull();
    expect(view).toMatchObject({ state: "disconnected", status: "Disconnected", overlay: { text: "You closed the connection." }, failure: null });
  });

  test("Reconnect works while the ticket is valid and starts a first attempt again", () => {
    const { c, start, clock } = setup({ validMs: 60_000 });
    start();
    c.connect();
    c.ended(REFUSED, false);
    expect(c.reconnectByUser()).toBe(true);
    expect(c.connect().state).toBe("connecting");
    c.ended(REFUSED, false);
    clock.now = T0 + 60_000;
    expect(c.reconnectByUser()).toBe(false);
  });

  test("a new hand-off in any ended state starts over", () => {
    const { c, start } = setup();
    start();
    c.connect();
    c.disconnectByUser();
    c.ended(LOST, false);
    start();
    expect(c.userDisconnected).toBe(false);
    expect(c.connect().state).toBe("connecting");
  });
});

describe("ConnectionController: transitions", () => {
  test("a step the table does not allow throws instead of showing a wrong state", () => {
    const { c } = setup();
    expect(() => c.established()).toThrow(InvalidTransitionError);
    expect(() => c.opened()).toThrow("no transition from waiting to authenticating");
    expect(c.state).toBe("waiting");
  });

  test("connected is reached only through authenticating", () => {
    const into = (Object.keys(TRANSITIONS) as ConnectionState[]).filter((s) => TRANSITIONS[s].includes("connected"));
    expect(into).toEqual(["authenticating"]);
  });

  test("every state can be left and every state but waiting can be reached", () => {
    const states = Object.keys(TRANSITIONS) as ConnectionState[];
    for (const s of states) expect(TRANSITIONS[s].length).toBeGreaterThan(0);
    const reached = new Set(states.flatMap((s) => TRANSITIONS[s]));
    expect(states.filter((s) => !reached.has(s))).toEqual(["waiting"]);
  });
});
