/**
 * The demo server reached the way a browser reaches it: over a TLS websocket with subprotocol
 * `binary`. A minimal in-test bridge (no ticket, no policy) stands in for the proxy, so this
 * checks the demo server and tests/helpers/rfb-client.ts's `openWs` (Bun's WebSocket client with
 * `tls.rejectUnauthorized: false` against a self-signed certificate, close codes) together.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, Socket } from "bun";
import { startDemoVncServer, type DemoVncServer } from "../../src/demo/vnc-server.ts";
import { makeSelfSigned } from "../../src/tls/identity.ts";
import { openWs, rfbHandshake, typeKeys, type WsTransport } from "../helpers/rfb-client.ts";

const PASSWORD = "wspasswd";
let vnc: DemoVncServer;
let bridge: Server<{ tcp: Socket<undefined> | null; early: Uint8Array[] }>;
const open: WsTransport[] = [];

beforeAll(async () => {
  vnc = await startDemoVncServer({ password: PASSWORD, width: 320, height: 240 });
  const identity = makeSelfSigned(["127.0.0.1"]);
  bridge = Bun.serve<{ tcp: Socket<undefined> | null; early: Uint8Array[] }>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: identity.certPem, key: identity.keyPem },
    fetch(req, server) {
      const url = new URL(req.url);
      if (url.pathname === "/reject") return new Response("no", { status: 403 });
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
      const headers = offered.includes("binary") ? { "Sec-WebSocket-Protocol": "binary" } : undefined;
      return server.upgrade(req, { data: { tcp: null, early: [] }, headers })
        ? undefined
        : new Response("upgrade failed", { status: 400 });
    },
    websocket: {
      async open(ws) {
        ws.data.tcp = await Bun.connect({
          hostname: "127.0.0.1",
          port: vnc.port,
          socket: {
            data: (_s, chunk) => void ws.sendBinary(chunk),
            close: () => ws.close(1000, "Target closed"),
            error() {},
          },
        });
        for (const b of ws.data.early) ws.data.tcp.write(b);
      },
      message(ws, msg) {
        const bytes = typeof msg === "string" ? new TextEncoder().encode(msg) : new Uint8Array(msg);
        if (ws.data.tcp) ws.data.tcp.write(bytes);
        else ws.data.early.push(bytes);
      },
      close(ws) {
        ws.data.tcp?.end();
      },
    },
  });
});

afterAll(() => {
  for (const t of open) t.close();
  bridge?.stop(true);
  vnc?.stop();
});

async function connect(): Promise<WsTransport> {
  const t = await openWs(`wss://127.0.0.1:${bridge.port}/`);
  open.push(t);
  return t;
}

describe("demo VNC server over a TLS websocket", () => {
  test("completes the handshake through wss:// with a self-signed certificate and subprotocol binary", async () => {
    const t = await connect();
    expect(t.protocol).toBe("binary");
    const r = await rfbHandshake(t, PASSWORD);
    expect(r).toMatchObject({ securityResult: "ok", width: 320, height: 240, name: "novnc-proxy demo" });
  });

  test("delivers key events sent through the websocket to the server", async () => {
    const t = await connect();
    await rfbHandshake(t, PASSWORD);
    const before = vnc.events.length;
    typeKeys(t, [0xffe3, 0xffe9, 0xffff]);
    for (let i = 0; i < 200 && vnc.events.length < before + 6; i++) await Bun.sleep(10);
    expect(vnc.events.slice(before).map((e) => (e.type === "key" ? e.keysym : -1))).toEqual([
      0xffe3, 0xffe3, 0xffe9, 0xffe9, 0xffff, 0xffff,
    ]);
  });

  test("reports the close code and reason when the target hangs up", async () => {
    const t = await connect();
    const r = await rfbHandshake(t, "badpassw");
    expect(r.securityResult).toBe("failed");
    expect(await t.closed).toEqual({ code: 1000, reason: "Target closed" });
  });

  test("rejects when the upgrade is refused", async () => {
    await expect(openWs(`wss://127.0.0.1:${bridge.port}/reject`)).rejects.toThrow(/closed before open/);
  });
});
