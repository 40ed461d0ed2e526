/**
 * `novnc-proxy demo` in-process: the launcher routes, a ticket from /demo/session that the proxy
 * accepts, and a full RFB session through the proxy's wss:// relay to the demo VNC server.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseDemoArgs, startDemo, type DemoSession, type RunningDemo } from "../../src/commands/demo.ts";
import { setLogLevel } from "../../src/log.ts";
import { openWs, rfbHandshake, typeKeys, type WsTransport } from "../helpers/rfb-client.ts";

let demo: RunningDemo;
let base: string;
const open: WsTransport[] = [];

/** fetch against the self-signed demo certificate. */
const get = (path: string) => fetch(base + path, { tls: { rejectUnauthorized: false } } as RequestInit);

beforeAll(async () => {
  setLogLevel("warn");
  demo = await startDemo({ hostname: "127.0.0.1", port: 0, portIsDefault: false, open: false });
  base = demo.url.replace(/\/demo$/, "");
});

afterAll(async () => {
  for (const t of open) t.close();
  await demo?.stop();
});

describe("parseDemoArgs", () => {
  test.each([
    [[], { hostname: "127.0.0.1", port: 6100, portIsDefault: true, open: true, logLevel: "info", warnings: [] }],
    [["--listen", "127.0.0.1:0", "--no-open"], { hostname: "127.0.0.1", port: 0, portIsDefault: false, open: false, logLevel: "info", warnings: [] }],
    [["--listen=[::1]:7000", "--log-level", "warn"], { hostname: "::1", port: 7000, portIsDefault: false, open: true, logLevel: "warn", warnings: [] }],
  ])("reads %j", (args, expected) => {
    expect(parseDemoArgs(args)).toEqual(expected as never);
  });

  test("an unknown NOVNC_PROXY_* variable is a warning for the demo too", () => {
    expect(parseDemoArgs([], { NOVNC_PROXY_OPNE: "false" }).warnings).toEqual(["env NOVNC_PROXY_OPNE: not a novnc-proxy setting, ignored (did you mean NOVNC_PROXY_OPEN?)"]);
  });

  test("refuses a malformed --listen", () => {
    expect(() => parseDemoArgs(["--listen", "nonsense:port"])).toThrow(/--listen/);
  });

  test("refuses a serve-only flag and a typo, naming them", () => {
    expect(() => parseDemoArgs(["--engine-cert", "x"])).toThrow("unknown flag --engine-cert");
    expect(() => parseDemoArgs(["--opne"])).toThrow("unknown flag --opne (did you mean --open?)");
  });
});

describe("novnc-proxy demo", () => {
  test("serves the launcher page with a script and style from separate files under the strict CSP", async () => {
    const res = await get("/demo");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script src="/demo.js"></script>');
    expect(html).not.toMatch(/<script>(?!<)/);
    expect((await get("/demo.js")).status).toBe(200);
    expect((await get("/demo.css")).status).toBe(200);
  });

  test("mints a fresh ticket for every session request", async () => {
    const a = (await (await get("/demo/session")).json()) as DemoSession;
    const b = (await (await get("/demo/session")).json()) as DemoSession;
    expect(a.ticket).not.toBe(b.ticket);
    expect(a.port).toBe(demo.server.port);
    expect(a.host).toBe("127.0.0.1");
    expect(a.password).toHaveLength(8);
  });

  test("relays a whole VNC session to the demo server with the minted ticket and password", async () => {
    const s = (await (await get("/demo/session")).json()) as DemoSession;
    const t = await openWs(`wss://127.0.0.1:${s.port}/${s.ticket}`, { headers: { Origin: base } });
    open.push(t);
    expect(t.protocol).toBe("binary");
    const r = await rfbHandshake(t, s.password);
    expect(r).toMatchObject({ securityResult: "ok", width: demo.vnc.width, height: demo.vnc.height });
    const before = demo.vnc.events.length;
    typeKeys(t, [0x64]);
    for (let i = 0; i < 200 && demo.vnc.events.length < before + 2; i++) await Bun.sleep(10);
    expect(demo.vnc.events.slice(before)).toEqual([
      { type: "key", down: true, keysym: 0x64 },
      { type: "key", down: false, keysym: 0x64 },
    ]);
  });

  test("refuses a websocket whose ticket was tampered with", async () => {
    const s = (await (await get("/demo/session")).json()) as DemoSession;
    const forged = Buffer.from(
      Buffer.from(s.ticket, "base64").toString("utf8").replace(/"validTo":"\d+"/, '"validTo":"29991231235959"'),
    ).toString("base64");
    const res = await fetch(`${base}/${forged}`, {
      headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
      tls: { rejectUnauthorized: false },
    } as RequestInit);
    expect(res.status).toBe(403);
  });
});
