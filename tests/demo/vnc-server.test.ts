import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AUTH_FAILED_REASON, startDemoVncServer, type DemoVncServer } from "../../src/demo/vnc-server.ts";
import { ENCODING_RAW } from "../../src/rfb/constants.ts";
import {
  distinctPixels,
  NOVNC_PIXEL_FORMAT,
  openTcp,
  readUpdate,
  requestUpdate,
  rfbHandshake,
  sendPointer,
  setEncodings,
  setPixelFormat,
  typeKeys,
  type Transport,
} from "../helpers/rfb-client.ts";

const PASSWORD = "s3cr3tpw";
let server: DemoVncServer;
const open: Transport[] = [];

async function connect(): Promise<Transport> {
  const t = await openTcp("127.0.0.1", server.port);
  open.push(t);
  return t;
}

/** Waits until `check` holds, polling briefly; bounded so a broken server fails the test. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await Bun.sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  server = await startDemoVncServer({ password: PASSWORD, width: 640, height: 480, name: "demo under test" });
});

afterAll(() => {
  for (const t of open) t.close();
  server.stop();
});

describe("demo VNC server", () => {
  test("completes the RFB 3.8 handshake with VNC authentication and reports its size and name", async () => {
    const t = await connect();
    const r = await rfbHandshake(t, PASSWORD);
    expect(r).toMatchObject({
      serverVersion: "RFB 003.008\n",
      securityTypes: [2],
      securityResult: "ok",
      width: 640,
      height: 480,
      name: "demo under test",
    });
    expect(r.pixelFormat).toMatchObject({ bitsPerPixel: 32, trueColour: true });
  });

  test("refuses a wrong password at SecurityResult with a reason and closes", async () => {
    const t = await connect();
    const r = await rfbHandshake(t, "wrongpw!");
    expect(r.securityResult).toBe("failed");
    expect(r.reason).toBe(AUTH_FAILED_REASON);
    expect((await t.closed).code).toBe(0);
  });

  test("ignores password characters past the eighth, as VNC authentication does", async () => {
    const t = await connect();
    expect((await rfbHandshake(t, PASSWORD + "-ignored")).securityResult).toBe("ok");
  });

  test("sends a non-uniform full frame in the pixel format noVNC uses", async () => {
    const t = await connect();
    await rfbHandshake(t, PASSWORD);
    setPixelFormat(t, NOVNC_PIXEL_FORMAT);
    setEncodings(t, [ENCODING_RAW]);
    requestUpdate(t, { width: 640, height: 480 });
    const rects = await readUpdate(t);
    expect(rects.reduce((n, r) => n + r.width * r.height, 0)).toBe(640 * 480);
    expect(distinctPixels(rects)).toBeGreaterThan(10);
  });

  test("records key and pointer events and answers an incremental request with only the changed part", async () => {
    const t = await connect();
    await rfbHandshake(t, PASSWORD);
    setEncodings(t, [ENCODING_RAW]);
    requestUpdate(t, { width: 640, height: 480 });
    await readUpdate(t);

    const before = server.events.length;
    requestUpdate(t, { width: 640, height: 480 }, true);
    typeKeys(t, [0x68, 0x69]); // "hi"
    sendPointer(t, 320, 440, 1);
    await until(() => server.events.length >= before + 5, "five input events");
    expect(server.events.slice(before, before + 5)).toEqual([
      { type: "key", down: true, keysym: 0x68 },
      { type: "key", down: false, keysym: 0x68 },
      { type: "key", down: true, keysym: 0x69 },
      { type: "key", down: false, keysym: 0x69 },
      { type: "pointer", x: 320, y: 440, buttons: 1 },
    ]);

    const rects = await readUpdate(t);
    const area = rects.reduce((n, r) => n + r.width * r.height, 0);
    expect(area).toBeGreaterThan(0);
    expect(area).toBeLessThan(640 * 480);
  });

  test("drops a client that sends an unknown message type", async () => {
    const t = await connect();
    await rfbHandshake(t, PASSWORD);
    t.send(Uint8Array.of(42, 0, 0, 0));
    expect((await t.closed).code).toBe(0);
  });

  test("drops a client that does not speak RFB", async () => {
    const t = await connect();
    await t.recv(12);
    t.send(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    expect((await t.closed).code).toBe(0);
  });
});

describe("demo VNC server under backpressure", () => {
  test("delivers a full frame much larger than the socket buffer whole and in order", async () => {
    const big = await startDemoVncServer({ password: PASSWORD, width: 2000, height: 1500 });
    try {
      const t = await openTcp("127.0.0.1", big.port);
      open.push(t);
      await rfbHandshake(t, PASSWORD);
      setEncodings(t, [ENCODING_RAW]);
      // Several requests before reading anything: merged into updates, never queued without bound.
      for (let i = 0; i < 5; i++) requestUpdate(t, { width: 2000, height: 1500 });
      await Bun.sleep(50);
      const rects = await readUpdate(t);
      expect(rects).toEqual([expect.objectContaining({ x: 0, y: 0, width: 2000, height: 1500 })]);
      expect(distinctPixels(rects)).toBeGreaterThan(10);
      // The first request was served at once; the four that came while it was being written were merged into one.
      const second = await readUpdate(t);
      expect(second).toEqual([expect.objectContaining({ width: 2000, height: 1500 })]);
      requestUpdate(t, { width: 1, height: 1 }, false);
      expect(await readUpdate(t)).toEqual([expect.objectContaining({ width: 1, height: 1 })]);
    } finally {
      big.stop();
    }
  });
});
