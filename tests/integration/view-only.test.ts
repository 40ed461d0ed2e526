/**
 * Server-enforced view-only through the compiled binary, against a VNC server that logs every
 * client message it receives (tests/helpers/logging-vnc-server.ts): with a `view_only` ticket or
 * `serve --view-only`, input never arrives while framebuffer updates keep flowing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { startLoggingVncServer, type LoggingVncServer } from "../helpers/logging-vnc-server.ts";
import { startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { openWs, rfbHandshake, requestUpdate, sendKey, sendPointer, setEncodings, setPixelFormat, NOVNC_PIXEL_FORMAT, type WsTransport } from "../helpers/rfb-client.ts";
import { signTicket } from "../../src/ticket/sign.ts";

const PASSWORD = "Vw7n4Lz0";
let engine: EngineKeys;
let tlsKeys: EngineKeys;
let vnc: LoggingVncServer;
let proxy: ProxyProcess;
let forced: ProxyProcess;

const ticket = (viewOnly: boolean) => signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "127.0.0.1", port: vnc.port, viewOnly });
const CUT_TEXT = Uint8Array.from([6, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
const QEMU_KEY = Uint8Array.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1e]);
const UPDATE_LENGTH = 20;

/** Handshake (ClientInit shared = 0), then display messages and every kind of input; waits for one update. */
async function session(port: number, viewOnly: boolean): Promise<WsTransport> {
  const t = await openWs(`wss://127.0.0.1:${port}/${ticket(viewOnly)}`);
  const r = await rfbHandshake(t, PASSWORD, 10_000, false);
  expect(r.securityResult).toBe("ok");
  setPixelFormat(t, NOVNC_PIXEL_FORMAT);
  setEncodings(t);
  sendKey(t, true, 0x61);
  sendKey(t, false, 0x61);
  sendPointer(t, 10, 10, 1);
  t.send(CUT_TEXT);
  t.send(QEMU_KEY);
  requestUpdate(t, { width: 1, height: 1 });
  await t.recv(UPDATE_LENGTH);
  requestUpdate(t, { width: 1, height: 1 }, true);
  await t.recv(UPDATE_LENGTH);
  return t;
}

/** Message types the server logged since `from` (its log only grows). */
const typesSince = (from: number) => vnc.types().slice(from);

async function metric(p: ProxyProcess, name: string): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`, { tls: { rejectUnauthorized: false } })).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

describe("server-enforced view-only through the binary", () => {
  beforeAll(async () => {
    engine = makeEngineKeys("engine.test");
    tlsKeys = makeEngineKeys("proxy.test");
    vnc = await startLoggingVncServer(PASSWORD);
    const base = ["serve", "--listen", "127.0.0.1:0", "--cert", tlsKeys.certFile, "--key", tlsKeys.keyFile, "--engine-cert", engine.certFile, "--allow", `127.0.0.1:${vnc.port}`];
    [proxy, forced] = await Promise.all([startProxy(base), startProxy([...base, "--view-only"])]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([proxy?.stop(), forced?.stop()]);
    vnc?.stop();
    for (const k of [engine, tlsKeys]) if (k) removeEngineKeys(k);
  });

  test("a normal ticket passes input and the shared flag as sent", async () => {
    const from = vnc.types().length;
    const t = await session(proxy.port, false);
    expect(typesSince(from)).toEqual([0, 2, 4, 4, 5, 6, 255, 3, 3]);
    expect(vnc.sharedFlags.at(-1)).toBe(0);
    t.close();
    await t.closed;
  });

  test("a view_only ticket: key, pointer, clipboard and QEMU key events never arrive; updates flow; shared is 1", async () => {
    const from = vnc.types().length;
    const t = await session(proxy.port, true);
    expect(typesSince(from)).toEqual([0, 2, 3, 3]);
    expect(vnc.sharedFlags.at(-1)).toBe(1);
    t.close();
    await t.closed;
    expect(await metric(proxy, "novnc_proxy_input_dropped_total")).toBe(5);
  });

  test("serve --view-only makes a normal ticket view-only", async () => {
    const from = vnc.types().length;
    const t = await session(forced.port, false);
    expect(typesSince(from)).toEqual([0, 2, 3, 3]);
    expect(vnc.sharedFlags.at(-1)).toBe(1);
    t.close();
    await t.closed;
    expect(forced.output()).toContain("--view-only: every console is read-only");
  });

  test("a message type the filter cannot size closes 1008 and never reaches the server", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(true)}`);
    await rfbHandshake(t, PASSWORD);
    const from = vnc.received.length;
    t.send(Uint8Array.from([7, 0, 0, 0, 0, 0, 0, 0]));
    const closed = await t.closed;
    expect(closed).toEqual({ code: 1008, reason: "View-only: unknown client message type 7" });
    await Bun.sleep(200);
    expect(vnc.received.slice(from)).toEqual([]);
  });
});
