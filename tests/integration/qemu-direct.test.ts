/**
 * The test harness against real QEMU, with no proxy in between: proves tests/helpers/qemu.ts
 * (start, QMP password) and tests/helpers/rfb-client.ts (handshake, DES auth) agree with a real
 * VNC server, so proxy tests built on them fail only for proxy reasons.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AUTH_FAILED_REASON } from "../../src/demo/vnc-server.ts";
import { ENCODING_RAW } from "../../src/rfb/constants.ts";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import {
  distinctPixels,
  NOVNC_PIXEL_FORMAT,
  openTcp,
  readUpdate,
  requestUpdate,
  rfbHandshake,
  setEncodings,
  setPixelFormat,
  type Transport,
} from "../helpers/rfb-client.ts";

const PASSWORD = "Zm9vYmFy"; // 8 characters, the shape vdsm uses
let qemu: Qemu;
const open: Transport[] = [];

async function connect(): Promise<Transport> {
  const t = await openTcp("127.0.0.1", qemu.port);
  open.push(t);
  return t;
}

beforeAll(async () => {
  qemu = await startQemu({ password: PASSWORD });
}, 30_000);

afterAll(async () => {
  for (const t of open) t.close();
  await qemu?.stop();
});

describe("QEMU reached directly over TCP", () => {
  test("accepts the VNC password set over QMP and reports its screen in ServerInit", async () => {
    const r = await rfbHandshake(await connect(), PASSWORD);
    expect(r.securityTypes).toEqual([2]);
    expect(r.securityResult).toBe("ok");
    expect([640, 720]).toContain(r.width);
    expect(r.height).toBeGreaterThanOrEqual(400);
    expect(r.name.length).toBeGreaterThan(0);
  });

  test("refuses a wrong password at SecurityResult with a reason", async () => {
    const r = await rfbHandshake(await connect(), "wrongpas");
    expect(r.securityResult).toBe("failed");
    expect(r.reason).toBe(AUTH_FAILED_REASON);
  });

  test("sends a framebuffer update in the pixel format noVNC uses", async () => {
    const t = await connect();
    const r = await rfbHandshake(t, PASSWORD);
    setPixelFormat(t, NOVNC_PIXEL_FORMAT);
    setEncodings(t, [ENCODING_RAW]);
    requestUpdate(t, { width: r.width, height: r.height });
    const rects = await readUpdate(t);
    expect(rects.length).toBeGreaterThan(0);
    expect(distinctPixels(rects)).toBeGreaterThanOrEqual(1);
  });

  test("a new password replaces the old one, as when the engine issues a new console ticket", async () => {
    await qemu.setPassword("n3wpassw", 120);
    expect((await rfbHandshake(await connect(), PASSWORD)).securityResult).toBe("failed");
    expect((await rfbHandshake(await connect(), "n3wpassw")).securityResult).toBe("ok");
    await qemu.setPassword(PASSWORD);
  });

  test("answers QMP queries with the VNC server's state", async () => {
    const info = (await qemu.qmp("query-vnc")) as { enabled: boolean; service: string; auth: string };
    expect(info.enabled).toBe(true);
    expect(Number(info.service)).toBe(qemu.port);
    expect(info.auth).toBe("vnc");
  });
});
