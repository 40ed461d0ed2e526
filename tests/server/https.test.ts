/**
 * The listener's reload bookkeeping, in-process: a listener a reload replaced is let go once it
 * holds nothing, so a service reloaded by a config manager every few minutes does not keep a
 * server (and its TLS context) per reload for the life of the process.
 */
import { afterAll, expect, test } from "bun:test";
import { makeSelfSigned } from "../../src/tls/identity.ts";
import { eventually } from "../helpers/proxy.ts";
import { startTestProxy } from "../helpers/browser.ts";
import { listenEcho } from "../helpers/targets.ts";
import { RawWsClient, roundTrip } from "../helpers/raw-ws.ts";

const echo = listenEcho();
afterAll(() => void echo.stop(true));

test("replaced listeners are let go once retired and idle; one still holding a session is kept until the session ends", async () => {
  const proxy = await startTestProxy([], [`127.0.0.1:${echo.port}`]);
  const { server } = proxy;
  try {
    const held = await RawWsClient.connect(server.port, `/${proxy.ticket("127.0.0.1", echo.port)}`);
    expect(held.reply.status).toBe(101);
    for (let i = 0; i < 3; i++) server.reload({ ...proxy.config, identity: makeSelfSigned([`reload${i}.test`]) });
    expect(server.listeners()).toBe(4);
    // The two idle ones go once retired; the first holds the session.
    await eventually(async () => server.listeners() === 2, 15_000, "idle replaced listeners let go");
    await roundTrip(held, "still flowing");
    held.close();
    await eventually(async () => server.listeners() === 1, 15_000, "the last replaced listener let go once its session ended");
    const r = await fetch(`${proxy.origin}/healthz`, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(r.status).toBe(200);
  } finally {
    await proxy.stop();
  }
}, 60_000);
