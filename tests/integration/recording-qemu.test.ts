/**
 * Session recordings of real QEMU sessions through the compiled binary (issue 12, item 4): the
 * VNC authentication challenge and response the client saw are not in the file (plain VNC and
 * VeNCrypt termination), and a recording stops at --record-max-bytes with a marker while the
 * session goes on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import { makeVncPki, type VncPki } from "../helpers/vnc-pki.ts";
import { NOVNC_PIXEL_FORMAT, openWs, readUpdate, requestUpdate, rfbHandshake, setEncodings, setPixelFormat } from "../helpers/rfb-client.ts";
import { parseRecording, DIRECTION_MARKER } from "../../src/relay/recorder.ts";

const PASSWORD = "Zk3q9Tx1";
const MAX_BYTES = 64 * 1024;
let keys: ProxyKeys;
let pki: VncPki;
let plain: Qemu;
let tls: Qemu;
let proxy: ProxyProcess;
let dir: string;

const hasQemu = Bun.which("qemu-system-x86_64") !== null;

const ticket = (port: number, sslTarget = false): string => engineTicket(keys.engine, port, { sslTarget });

/** Whether `needle` occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** One session: handshake, then full-screen updates; returns what the client saw of the auth. */
async function session(port: number, sslTarget: boolean, updates: number) {
  const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(port, sslTarget)}`);
  const r = await rfbHandshake(t, PASSWORD);
  expect(r.securityResult).toBe("ok");
  setPixelFormat(t, NOVNC_PIXEL_FORMAT);
  setEncodings(t);
  let pixels = 0;
  for (let i = 0; i < updates; i++) {
    requestUpdate(t, { width: r.width, height: r.height });
    for (const rect of await readUpdate(t)) pixels += rect.data.length;
  }
  t.close();
  await t.closed;
  return { challenge: r.challenge!, response: r.response!, pixels };
}

/** The recording file of the session that logged `close` last, parsed, with all its bytes joined. */
async function lastRecording(before: Set<string>) {
  const deadline = Date.now() + 5000;
  let files: string[] = [];
  while (Date.now() < deadline) {
    files = readdirSync(dir).filter((f) => !before.has(f));
    if (files.length > 0) break;
    await Bun.sleep(50);
  }
  expect(files).toHaveLength(1);
  await Bun.sleep(300); // the file sink flushes on close
  const file = join(dir, files[0]!);
  const data = new Uint8Array(readFileSync(file));
  const rec = parseRecording(data);
  return { file, size: statSync(file).size, data, rec };
}

describe.skipIf(!hasQemu)("recordings of real QEMU sessions", () => {
  beforeAll(async () => {
    keys = makeProxyKeys();
    pki = makeVncPki();
    dir = mkdtempSync(join(tmpdir(), "novnc-rec-"));
    [plain, tls] = await Promise.all([startQemu({ password: PASSWORD }), startQemu({ password: PASSWORD, tlsDir: pki.dir })]);
    proxy = await startProxy(serveArgs(keys, "--allow", `127.0.0.1:${plain.port},${tls.port}`, "--record", dir, "--record-max-bytes", String(MAX_BYTES)));
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([plain?.stop(), tls?.stop()]);
    pki?.cleanup();
    removeProxyKeys(keys);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ["plain VNC", false],
    ["VeNCrypt terminated by the proxy", true],
  ] as const)("%s: neither the challenge nor the response the client saw is in the recording; it is marked redacted", async (_name, sslTarget) => {
    const before = new Set(readdirSync(dir));
    const seen = await session(sslTarget ? tls.port : plain.port, sslTarget, 0);
    const { data, rec } = await lastRecording(before);
    expect(rec.header.redacted).toBe("vnc-auth");
    expect(contains(data, seen.challenge)).toBe(false);
    expect(contains(data, seen.response)).toBe(false);
    const zeros = new Uint8Array(16);
    expect(rec.records.filter((r) => r.direction !== DIRECTION_MARKER && contains(r.bytes, zeros)).length).toBeGreaterThanOrEqual(2);
    const notes = rec.records.filter((r) => r.direction === DIRECTION_MARKER).map((r) => new TextDecoder().decode(r.bytes));
    expect(notes.some((n) => n.startsWith("redacted:"))).toBe(true);
    // The rest of the opening is recorded as the browser saw it.
    expect(new TextDecoder().decode(rec.records.find((r) => r.direction === 1)!.bytes.subarray(0, 12))).toBe("RFB 003.008\n");
  });

  test("a recording stops at --record-max-bytes with a marker; the session goes on", async () => {
    const before = new Set(readdirSync(dir));
    // Each full-screen raw update of SeaBIOS's screen is far more than 64 KiB.
    const seen = await session(plain.port, false, 3);
    expect(seen.pixels).toBeGreaterThan(3 * MAX_BYTES);
    const { size, rec } = await lastRecording(before);
    expect(size).toBeLessThanOrEqual(MAX_BYTES);
    const last = rec.records.at(-1)!;
    expect(last.direction).toBe(DIRECTION_MARKER);
    expect(new TextDecoder().decode(last.bytes)).toContain("--record-max-bytes");
    await proxy.waitFor(/close \S+ .*reason="1000|close \S+ .*by client/);
  });
});
