/**
 * Attacks on live websockets through the real binary (security.md "Resource exhaustion": frame
 * size cap, bounded buffers under backpressure in the browser->VNC direction, and a browser
 * that vanishes). The VNC->browser flood with a slow reader is in tests/integration/serve.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Socket, TCPSocketListener } from "bun";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, frameHeader } from "../helpers/raw-ws.ts";

const MAX_MESSAGE = 64 * 1024;

let keys: ProxyKeys;
let proxy: ProxyProcess;
let target: TCPSocketListener<undefined>;
const used: string[] = [];

/** What the target does with each connection; tests swap it. */
let behaviour: { open(s: Socket<undefined>): void; data(s: Socket<undefined>, d: Uint8Array): void; drain?(s: Socket<undefined>): void } = { open() {}, data() {} };
const openTargets = new Set<Socket<undefined>>();
let targetReceived = 0;

function ticket(): string {
  const t = engineTicket(keys.engine, target.port);
  used.push(t);
  return t;
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await Bun.sleep(20);
  return cond();
}

/** A masked binary frame header claiming `len` bytes (payload sent separately or never). */
const claimHeader = (len: number): Uint8Array => frameHeader(len, new Uint8Array([1, 2, 3, 4]));

/** A whole masked binary frame of `len` zero bytes (masked with a zero key, so payload = zeros). */
function zeroFrame(len: number): Uint8Array {
  const head = frameHeader(len, new Uint8Array(4));
  const out = new Uint8Array(head.length + len);
  out.set(head);
  return out;
}

beforeAll(async () => {
  keys = makeProxyKeys();
  target = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        openTargets.add(s);
        behaviour.open(s);
      },
      data(s, d) {
        targetReceived += d.length;
        behaviour.data(s, d);
      },
      drain(s) {
        behaviour.drain?.(s);
      },
      close(s) {
        openTargets.delete(s);
      },
    },
  });
  proxy = await startProxy([
    ...serveArgs(keys, "--allow", `127.0.0.1:${target.port}`),
    "--max-message", String(MAX_MESSAGE),
  ]);
});

afterAll(async () => {
  await proxy?.stop();
  target?.stop(true);
  removeProxyKeys(keys);
});

describe("message size cap (--max-message)", () => {
  test("a message exactly at the cap passes to the target", async () => {
    behaviour = { open() {}, data() {} };
    targetReceived = 0;
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    expect(c.reply.status).toBe(101);
    c.socket.write(zeroFrame(MAX_MESSAGE));
    expect(await until(() => targetReceived === MAX_MESSAGE, 5000)).toBe(true);
    expect(c.closeFrame).toBeNull();
    c.close();
  });

  test("a message one byte over the cap closes the websocket with 1009 and the target socket", async () => {
    behaviour = { open() {}, data() {} };
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    await until(() => openTargets.size > 0, 2000);
    c.socket.write(zeroFrame(MAX_MESSAGE + 1));
    await c.until(() => c.closeFrame !== null || c.ended, 5000);
    expect(c.closeFrame?.code).toBe(1009);
    expect(await until(() => openTargets.size === 0, 5000)).toBe(true);
    c.close();
  });

  test("a frame header claiming 1 TiB is refused 1009 at once, without waiting for (or buffering) the payload", async () => {
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    const before = rssKiB(proxy.pid);
    c.socket.write(claimHeader(2 ** 40));
    await c.until(() => c.closeFrame !== null || c.ended, 3000);
    expect(c.closeFrame?.code).toBe(1009);
    expect(rssKiB(proxy.pid) - before).toBeLessThan(16 * 1024);
    c.close();
  });

  test("a text frame closes 1003", async () => {
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    c.send(new TextEncoder().encode("hello"), 1);
    await c.until(() => c.closeFrame !== null || c.ended, 3000);
    expect(c.closeFrame?.code).toBe(1003);
    c.close();
  });
});

describe("backpressure towards a VNC server that never reads", () => {
  test("a browser flooding a non-reading target is held back; proxy memory stays bounded", async () => {
    behaviour = { open: (s) => s.pause(), data() {} };
    targetReceived = 0;
    const before = rssKiB(proxy.pid);
    const logFrom = proxy.output().length;
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    expect(c.reply.status).toBe(101);
    const TOTAL = 512 * 1024 * 1024;
    const frame = zeroFrame(60 * 1024);
    const payloadPerFrame = 60 * 1024;
    let offered = 0;
    let off = 0;
    let peak = before;
    const stopAt = Date.now() + 3000;
    // Drain-aware writer: whatever the socket does not take now is retried.
    while (offered < TOTAL && Date.now() < stopAt && !c.ended) {
      const n = c.socket.write(frame.subarray(off));
      if (n > 0) {
        off += n;
        if (off === frame.length) {
          off = 0;
          offered += payloadPerFrame;
        }
      } else {
        await Bun.sleep(10);
        peak = Math.max(peak, rssKiB(proxy.pid));
      }
    }
    peak = Math.max(peak, rssKiB(proxy.pid));
    // The client could not push the whole flood in: the proxy stopped reading it.
    expect(offered).toBeLessThan(TOTAL);
    expect(peak - before).toBeLessThan(64 * 1024);
    expect(c.closeFrame).toBeNull();
    c.socket.terminate();
    // The proxy ends its side (FIN after the queued bytes); the paused target only sees it once it reads.
    expect(await until(() => /close \S+ .*reason="1006 by client"/.test(proxy.output().slice(logFrom)), 5000)).toBe(true);
    for (const s of openTargets) s.resume();
    expect(await until(() => openTargets.size === 0, 5000)).toBe(true);
  }, 20_000);
});

describe("a browser that vanishes", () => {
  test("terminating the browser connection mid-stream closes the VNC socket", async () => {
    // The target floods; the browser reads a little, then its TCP connection is torn down.
    behaviour = {
      open(s) {
        const chunk = new Uint8Array(64 * 1024);
        const pump = () => {
          while (s.write(chunk) === chunk.length) {}
        };
        (s as unknown as { pump: () => void }).pump = pump;
        pump();
      },
      data() {},
      drain(s) {
        (s as unknown as { pump?: () => void }).pump?.();
      },
    };
    const logFrom = proxy.output().length;
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    await c.until(() => c.received > 256 * 1024, 5000);
    expect(openTargets.size).toBe(1);
    c.pause();
    await Bun.sleep(200);
    c.socket.terminate();
    expect(await until(() => openTargets.size === 0, 5000)).toBe(true);
    expect(await until(() => /close \S+ .*reason=/.test(proxy.output().slice(logFrom)), 3000)).toBe(true);
  });

  test("a browser that leaves before the target accepted does not leak the target connection", async () => {
    behaviour = { open() {}, data() {} };
    const before = openTargets.size;
    const c = await RawWsClient.connect(proxy.port, `/${ticket()}`);
    c.socket.terminate();
    await Bun.sleep(300);
    expect(await until(() => openTargets.size === before, 5000)).toBe(true);
  });
});

describe("secrets", () => {
  test("no ticket used in this file appears in the proxy's output", () => {
    const out = proxy.output();
    for (const t of used) expect(out.includes(t.slice(0, 24))).toBe(false);
  });
});
