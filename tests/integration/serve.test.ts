/**
 * `serve` as a real process: TLS-only listener, upgrade refusals, the relay's byte-exactness,
 * close codes and backpressure. Targets here are plain TCP servers in this test process;
 * the QEMU end-to-end runs are in serve-qemu.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, runCli, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";

let keys: ProxyKeys;
/** Same subject as the engine, another key: a forger's engine. */
let other: EngineKeys;
let proxy: ProxyProcess;
let dir: string;

/** A TCP target whose behaviour each test chooses per connection. */
let onTargetOpen: (s: Socket<undefined>) => void = () => {};
let target: TCPSocketListener<undefined>;
const targetSockets = new Set<Socket<undefined>>();

function ticket(port: number, host = "127.0.0.1", signer = keys.engine): string {
  return engineTicket(signer, port, { host });
}

beforeAll(async () => {
  keys = makeProxyKeys();
  other = makeEngineKeys("engine.test");
  dir = mkdtempSync(join(tmpdir(), "novnc-serve-"));
  target = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        targetSockets.add(s);
        onTargetOpen(s);
      },
      data() {},
      close(s) {
        targetSockets.delete(s);
      },
      drain(s) {
        (s as any).onDrain?.();
      },
    },
  });
  proxy = await startProxy([
    ...serveArgs(keys),
    "--allow", `127.0.0.1:${target.port}`,
    "--origin", "https://engine.example",
  ]);
});

afterAll(async () => {
  await proxy?.stop();
  target?.stop(true);
  removeProxyKeys(keys);
  if (other) removeEngineKeys(other);
  rmSync(dir, { recursive: true, force: true });
});

describe("start-up", () => {
  test("logs address, certificate subject and the allowlist, but no key", () => {
    const out = proxy.output();
    expect(out).toMatch(/listening on .*https:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain("proxy.test");
    expect(out).toContain(`127.0.0.1:${target.port}`);
    expect(out).not.toContain("PRIVATE KEY");
  });

  test.each([
    ["a missing cert file", ["--cert", "/nonexistent/cert.pem"], /\/nonexistent\/cert\.pem/],
    ["a key that does not match the cert", ["--cert", "CERT", "--key", "OTHERKEY"], /match/i],
    ["no engine cert and no --allow-unsigned", ["--cert", "CERT", "--key", "KEY", "--no-engine"], /--engine-cert/],
    ["a bad --allow rule", ["--cert", "CERT", "--key", "KEY", "--allow", "10.0.0.0/33"], /--allow/],
    ["a bad --listen", ["--cert", "CERT", "--key", "KEY", "--listen", "host:99999"], /--listen/],
  ])("refuses %s with one line and exit code 2", async (_name, extra, re) => {
    const args = ["serve"];
    let engineCert = true;
    for (const a of extra) {
      if (a === "--no-engine") engineCert = false;
      else args.push(a === "CERT" ? keys.tls.certFile : a === "KEY" ? keys.tls.keyFile : a === "OTHERKEY" ? other.keyFile : a);
    }
    if (engineCert) args.push("--engine-cert", keys.engine.certFile);
    if (!args.includes("--listen")) args.push("--listen", "127.0.0.1:0");
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).not.toContain("    at ");
  });

  test("a password-protected key is refused, naming the file", async () => {
    const enc = join(dir, "enc.key");
    const proc = Bun.spawnSync(["openssl", "pkey", "-in", keys.tls.keyFile, "-aes256", "-passout", "pass:secret", "-out", enc]);
    expect(proc.exitCode).toBe(0);
    const r = await runCli(["serve", "--listen", "127.0.0.1:0", "--cert", keys.tls.certFile, "--key", enc, "--engine-cert", keys.engine.certFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(enc);
    expect(r.stderr).toMatch(/password|encrypted/i);
  });

  test("the key may live in the cert file (oVirt's empty SSL_KEY)", async () => {
    const both = join(dir, "both.pem");
    writeFileSync(both, readFileSync(keys.tls.certFile, "utf8") + readFileSync(keys.tls.keyFile, "utf8"));
    const p = await startProxy(["serve", "--listen", "127.0.0.1:0", "--cert", both, "--engine-cert", keys.engine.certFile]);
    try {
      expect((await upgradeStatus(p.port, "/")).status).toBe(401);
    } finally {
      await p.stop();
    }
  });
});

describe("TLS only", () => {
  test("a plaintext HTTP request gets no HTTP answer", async () => {
    let got = "";
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: {
        data(_s, d) {
          got += new TextDecoder("latin1").decode(d);
        },
      },
    });
    sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await Bun.sleep(500);
    sock.end();
    expect(got).not.toContain("HTTP/1.");
  });

  test("--tls-min 1.3 refuses a TLS 1.2 client", async () => {
    const p = await startProxy(serveArgs(keys, "--tls-min", "1.3"));
    try {
      const s12 = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${p.port}`, "-tls1_2"], { stdin: new TextEncoder().encode(""), timeout: 10_000 });
      const s13 = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${p.port}`, "-tls1_3"], { stdin: new TextEncoder().encode(""), timeout: 10_000 });
      expect(s13.stdout.toString()).toContain("TLSv1.3");
      expect(s12.exitCode).not.toBe(0);
    } finally {
      await p.stop();
    }
  });
});

describe("upgrade refusals", () => {
  test("no ticket: 401", async () => {
    const r = await upgradeStatus(proxy.port, "/");
    expect(r.status).toBe(401);
    expect(r.body).toContain("missing ticket");
  });

  test("a ticket signed by another key (with its own embedded certificate): 403, ticket not echoed", async () => {
    const forged = ticket(target.port, "127.0.0.1", other);
    const r = await upgradeStatus(proxy.port, `/${forged}`);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain(forged.slice(0, 20));
    expect(proxy.output()).not.toContain(forged.slice(0, 20));
  });

  test("a port outside the allowlist: 403 before the upgrade", async () => {
    const r = await upgradeStatus(proxy.port, `/${ticket(5900)}`);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/not allowed/);
  });

  test("a foreign Origin: 403; null: 403; a configured one: 101", async () => {
    const t = ticket(target.port);
    expect((await upgradeStatus(proxy.port, `/${t}`, { Origin: "https://evil.example" })).status).toBe(403);
    expect((await upgradeStatus(proxy.port, `/${t}`, { Origin: "null" })).status).toBe(403);
    expect((await upgradeStatus(proxy.port, `/${t}`, { Origin: "https://engine.example" })).status).toBe(101);
    expect((await upgradeStatus(proxy.port, `/${t}`, { Origin: `https://127.0.0.1:${proxy.port}` })).status).toBe(101);
  });

  test("subprotocol: binary is answered, base64 alone is refused 400, none gets none", async () => {
    const t = ticket(target.port);
    const b = await upgradeStatus(proxy.port, `/${t}`, { "Sec-WebSocket-Protocol": "base64, binary" });
    expect(b.status).toBe(101);
    expect(b.headers["sec-websocket-protocol"]).toBe("binary");
    expect((await upgradeStatus(proxy.port, `/${t}`, { "Sec-WebSocket-Protocol": "base64" })).status).toBe(400);
    const none = await upgradeStatus(proxy.port, `/${t}`);
    expect(none.status).toBe(101);
    expect(none.headers["sec-websocket-protocol"]).toBeUndefined();
  });

  test("the ticket is also read percent-encoded and from the novnc-ticket cookie", async () => {
    const t = ticket(target.port);
    expect((await upgradeStatus(proxy.port, `/${encodeURIComponent(t)}`)).status).toBe(101);
    expect((await upgradeStatus(proxy.port, "/", { Cookie: `other=1; novnc-ticket=${t}` })).status).toBe(101);
  });

  test("an unsigned novnc-target cookie is refused unless --allow-unsigned", async () => {
    expect((await upgradeStatus(proxy.port, "/", { Cookie: `novnc-target=127.0.0.1:${target.port}` })).status).toBe(401);
  });
});

/** Deterministic bytes: position i holds (i * 7 + (i >> 13)) & 255. */
function pattern(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const p = offset + i;
    out[i] = (p * 7 + (p >> 13)) & 255;
  }
  return out;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]);
}

describe("relay", () => {
  test("the target's hang-up reaches the client as 1000 Target closed, after every byte", async () => {
    const hello = pattern(0, 100_000);
    onTargetOpen = (s) => {
      s.write(hello);
      setTimeout(() => s.end(), 50);
    };
    const c = await RawWsClient.connect(proxy.port, `/${ticket(target.port)}`);
    expect(c.reply.status).toBe(101);
    const got: Uint8Array[] = [];
    c.onBinary = (b) => got.push(b);
    await c.until(() => c.closeFrame !== null, 5000);
    expect(c.closeFrame).toEqual({ code: 1000, reason: "Target closed" });
    expect(Buffer.concat(got).equals(Buffer.from(hello))).toBe(true);
    c.close();
  });

  test("a refused target closes the websocket with 1011 and a reason", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const p = await startProxy(serveArgs(keys, "--allow", `127.0.0.1:${port}`));
    try {
      const c = await RawWsClient.connect(p.port, `/${ticket(port)}`);
      await c.until(() => c.closeFrame !== null, 5000);
      expect(c.closeFrame!.code).toBe(1011);
      expect(c.closeFrame!.reason).toMatch(/refused/);
      c.close();
    } finally {
      await p.stop();
    }
  });

  test("browser bytes reach the target intact, and a browser that leaves closes the target socket", async () => {
    const received: Uint8Array[] = [];
    let targetClosed = false;
    const sink = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data: (_s, d) => void received.push(d.slice()),
        close: () => {
          targetClosed = true;
        },
      },
    });
    const p = await startProxy(serveArgs(keys, "--allow", `127.0.0.1:${sink.port}`));
    try {
      const c = await RawWsClient.connect(p.port, `/${ticket(sink.port)}`);
      const sent = pattern(0, 300_000);
      for (let off = 0; off < sent.length; off += 16_384) c.send(sent.subarray(off, off + 16_384));
      const deadline = Date.now() + 5000;
      while (received.reduce((n, b) => n + b.length, 0) < sent.length && Date.now() < deadline) await Bun.sleep(20);
      expect(Buffer.concat(received).equals(Buffer.from(sent))).toBe(true);
      c.socket.terminate();
      const d2 = Date.now() + 5000;
      while (!targetClosed && Date.now() < d2) await Bun.sleep(20);
      expect(targetClosed).toBe(true);
      await p.waitFor(/close \S+ client=127\.0\.0\.1 .*up=300000/);
    } finally {
      await p.stop();
      sink.stop(true);
    }
  });

  test("a flooding target and a slow reader: bounded proxy memory, every byte in order", async () => {
    const TOTAL = 256 * 1024 * 1024;
    const CHUNK = 64 * 1024;
    let sentBytes = 0;
    onTargetOpen = (s) => {
      const pump = () => {
        while (sentBytes < TOTAL) {
          const chunk = pattern(sentBytes, Math.min(CHUNK, TOTAL - sentBytes));
          const n = s.write(chunk);
          sentBytes += Math.max(n, 0);
          if (n < chunk.length) return; // wait for drain
        }
        s.end();
      };
      (s as any).onDrain = pump;
      pump();
    };
    const before = rssKiB(proxy.pid);
    const c = await RawWsClient.connect(proxy.port, `/${ticket(target.port)}`);
    const hash = createHash("sha256");
    let pos = 0;
    let firstBad = -1;
    c.onBinary = (b) => {
      hash.update(b);
      if (firstBad < 0) {
        const exp = pattern(pos, b.length);
        for (let i = 0; i < b.length; i++) if (exp[i] !== b[i]) { firstBad = pos + i; console.log("first mismatch at", firstBad, "frame at", pos, "len", b.length, Array.from(b.subarray(0,16)).join(","), Array.from(exp.subarray(0,16)).join(",")); break; }
      }
      pos += b.length;
    };
    // Slow phase: read in short bursts for ~3 s while the target floods.
    let peak = before;
    for (let i = 0; i < 15; i++) {
      c.pause();
      await Bun.sleep(180);
      peak = Math.max(peak, rssKiB(proxy.pid));
      c.resume();
      await Bun.sleep(20);
    }
    expect(sentBytes).toBeLessThan(TOTAL); // the target was held back, not buffered in the proxy
    // Then read everything.
    await c.until(() => c.closeFrame !== null, 60_000);
    peak = Math.max(peak, rssKiB(proxy.pid));
    expect(c.received).toBe(TOTAL);
    const expected = createHash("sha256");
    for (let off = 0; off < TOTAL; off += 1 << 20) expected.update(pattern(off, 1 << 20));
    expect(hash.digest("hex")).toBe(expected.digest("hex"));
    expect(c.closeFrame!.code).toBe(1000);
    expect(peak - before).toBeLessThan(64 * 1024);
    c.close();
  }, 120_000);
});
