/**
 * Attacks on the HTTP edge of the real binary (security.md rows "Static serving holes",
 * "Weak TLS", "Clickjacking / injection", and the handshake part of "Resource exhaustion").
 * Requests are written as raw bytes over a TLS socket so that no client library normalises
 * the request line before the proxy sees it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket, TCPSocketListener } from "bun";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyProcess, type ProxyKeys } from "../helpers/proxy.ts";
import { listenSilent } from "../helpers/targets.ts";
import { upgradeStatus } from "../helpers/raw-ws.ts";
import { consoleCss, consoleJs, faviconSvg } from "../../assets/dist/embedded.ts";

/** Bun's own, fixed cut-off for connections that never complete a request (10 s on a 4 s tick), plus slack. */
const BUN_CUTOFF_S = 17;

let keys: ProxyKeys;
let proxy: ProxyProcess;
let target: TCPSocketListener<undefined>;

interface RawReply {
  status: number;
  head: string;
  body: string;
  /** The server closed the connection. */
  closed: boolean;
}

/** Opens a TLS connection, waits for the handshake, writes `text`, reads until close, a full reply, or timeout. */
async function rawRequest(port: number, text: string, timeoutMs = 3000): Promise<RawReply> {
  let got = "";
  let closed = false;
  let handshaken = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    tls: { rejectUnauthorized: false },
    socket: {
      handshake: () => void (handshaken = true),
      data: (_s, d) => void (got += Buffer.from(d).toString("latin1")),
      close: () => void (closed = true),
      end: () => void (closed = true),
      error: () => void (closed = true),
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (!handshaken && !closed && Date.now() < deadline) await Bun.sleep(5);
  for (let off = 0; off < text.length && !closed; ) {
    const n = s.write(text.slice(off));
    if (n > 0) off += n;
    else await Bun.sleep(5);
  }
  const complete = () => {
    const end = got.indexOf("\r\n\r\n");
    if (end < 0) return false;
    const len = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, end));
    return len ? got.length >= end + 4 + Number(len[1]) : false;
  };
  while (!closed && !complete() && Date.now() < deadline) await Bun.sleep(5);
  s.end();
  const end = got.indexOf("\r\n\r\n");
  const head = end < 0 ? got : got.slice(0, end);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(got)?.[1] ?? 0), head, body: end < 0 ? "" : got.slice(end + 4), closed };
}

const get = (path: string) => rawRequest(proxy.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: close\r\n\r\n`);

/** A slowloris client: one byte a second of a never-ending request; resolves with seconds until the server cut it off. */
function slowloris(port: number, limitS: number): Promise<{ cutAfterS: number | null; reply: string }> {
  return (async () => {
    let closed = false;
    let got = "";
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      tls: { rejectUnauthorized: false },
      socket: { data: (_s, d) => void (got += Buffer.from(d).toString("latin1")), close: () => void (closed = true), error: () => void (closed = true) },
    });
    const req = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    const t0 = Date.now();
    for (let i = 0; !closed && Date.now() - t0 < limitS * 1000; i++) {
      s.write(i < req.length ? req[i]! : "a");
      for (let k = 0; k < 10 && !closed; k++) await Bun.sleep(100);
    }
    const cut = closed ? (Date.now() - t0) / 1000 : null;
    s.end();
    return { cutAfterS: cut, reply: got };
  })();
}

let slow: Promise<{ cutAfterS: number | null; reply: string }>;

beforeAll(async () => {
  keys = makeProxyKeys();
  target = listenSilent();
  proxy = await startProxy([
    ...serveArgs(keys, "--allow", `127.0.0.1:${target.port}`),
    "--engine-origin", "https://engine.example",
    "--max-sessions", "2",
  ]);
  // Runs alongside the other tests; checked at the end of the file.
  slow = slowloris(proxy.port, BUN_CUTOFF_S + 3);
});

afterAll(async () => {
  await proxy?.stop();
  target?.stop(true);
  removeProxyKeys(keys);
});

describe("static serving: the embedded map only, exact match", () => {
  test("control: the page and its assets are served", async () => {
    for (const p of ["/", "/console", "/console.js", "/console.css", "/favicon.svg"]) expect(`${p} ${(await get(p)).status}`).toBe(`${p} 200`);
  });

  test.each([
    "/%2f",
    "/%2F",
    "/%00",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%2f..%2fetc%2fpasswd",
    "/%252e%252e/",
    "/%c0%ae%c0%ae/",
    "//host",
    "//evil.example/",
    "///etc/passwd",
    "/assets/../../etc/passwd",
    "/../../../../etc/passwd",
    "/..\\..\\etc\\passwd",
    "/etc/passwd",
    "/proc/self/environ",
    "/.git/config",
    "/.env",
    "/index.html",
    "/index.html%00",
    "/console.js%00",
    "/console.js%00.css",
    "/console%2ejs",
    "/%63onsole.js",
    "/CONSOLE.JS",
    "/console.js/",
    "/console.js;.css",
    "/favicon.svg\\",
    "/dist/novnc-proxy",
    "/src/server/https.ts",
    "/assets/dist/embedded.ts",
    "/node_modules/@novnc/novnc/package.json",
  ])("%s is 404 with a short body and no redirect", async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.head).not.toMatch(/\r\nlocation:/i);
    expect(r.body).toBe("not found\n");
  });

  const dotSegments = ["/../", "/%2e%2e/", "/%2E%2E/console.js", "/\\..\\", "/console/..", "/x/../console.js", "/./console.js", "/.%2e/console.js"];

  test.each(dotSegments)("%s never reaches the filesystem: 404, or exactly an embedded asset", async (path) => {
    const r = await get(path);
    expect(r.head).not.toMatch(/\r\nlocation:/i);
    if (r.status !== 404) {
      expect(r.status).toBe(200);
      const embedded = [consoleJs, consoleCss, faviconSvg];
      const body = Buffer.from(r.body, "latin1").toString("utf8");
      const isPage = body.startsWith("<!doctype html>");
      expect(isPage || embedded.includes(body)).toBe(true);
    }
  });

  // Known deviation (README, Security): Bun resolves dot segments (also %2e and backslash) in
  // req.url before fetch() sees it and exposes no raw request line, so "/x/../console.js" is the
  // asset it names rather than a 404. The test above shows such paths only ever reach an
  // embedded asset: never a file, a listing or a redirect.

  test.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])("%s / is 405", async (method) => {
    const r = await rawRequest(proxy.port, `${method} / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(405);
  });

  test("CONNECT is never a tunnel", async () => {
    const r = await rawRequest(proxy.port, `CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n\r\n`);
    expect(r.status === 0 || r.status >= 400).toBe(true);
  });

  test("the page carries the security headers: CSP with frame-ancestors, nosniff, no-referrer, no-cache", async () => {
    const r = await get("/");
    const h = r.head.toLowerCase();
    expect(h).toMatch(/content-security-policy: [^\r]*frame-ancestors 'self' https:\/\/engine\.example/);
    expect(h).toMatch(/content-security-policy: [^\r]*script-src 'self'/);
    expect(h).toContain("x-content-type-options: nosniff");
    expect(h).toContain("referrer-policy: no-referrer");
    expect(h).toContain("cache-control: no-cache");
  });
});

describe("TLS", () => {
  function sClient(flags: string[]): { ok: boolean; out: string } {
    const r = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${proxy.port}`, ...flags], { stdin: new TextEncoder().encode(""), timeout: 10_000 });
    const out = r.stdout.toString() + r.stderr.toString();
    return { ok: r.exitCode === 0 && /Protocol *: *TLSv1\.[23]|New, TLSv1\.[23]/.test(out), out };
  }

  test("a TLS 1.1 client is refused even when it lowers its own security level; TLS 1.2 is served", () => {
    expect(sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]).ok).toBe(false);
    expect(sClient(["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]).ok).toBe(false);
    expect(sClient(["-tls1_2"]).ok).toBe(true);
  });

  test("serve warns at start-up when the TLS key file is group or world readable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "novnc-keymode-"));
    const key = join(dir, "websocket-proxy.key.nopass");
    copyFileSync(keys.tls.keyFile, key);
    chmodSync(key, 0o644);
    const p = await startProxy(["serve", "--listen", "127.0.0.1:0", "--cert", keys.tls.certFile, "--key", key, "--engine-cert", keys.engine.certFile]);
    try {
      expect(p.output()).toMatch(/readable/i);
      expect(p.output()).not.toContain("PRIVATE KEY");
    } finally {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("oversized requests", () => {
  test.each([
    ["a 64 KiB header", () => `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`],
    ["2000 small headers", () => `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n`],
    ["a 70 KiB request line", () => `GET /${"A".repeat(70 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ["a 64 KiB cookie on an upgrade", () => `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: novnc-ticket=${"A".repeat(64 * 1024)}\r\n\r\n`],
  ])("%s gets 431 or a closed connection, and the proxy keeps serving", async (_name, make) => {
    const r = await rawRequest(proxy.port, make());
    expect(r.status === 431 || (r.status === 0 && r.closed)).toBe(true);
    expect((await get("/console.css")).status).toBe(200);
  });
});

describe("plaintext and idle clients on the TLS port", () => {
  test("a plaintext HTTP request gets no HTTP answer", async () => {
    let got = "";
    let closed = false;
    const s = await Bun.connect({
      hostname: "127.0.0.1",
      port: proxy.port,
      socket: { data: (_s, d) => void (got += Buffer.from(d).toString("latin1")), close: () => void (closed = true), error: () => void (closed = true) },
    });
    s.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    for (let i = 0; i < 50 && !closed; i++) await Bun.sleep(20);
    s.end();
    expect(got).not.toContain("HTTP/1.");
    expect(got).not.toContain("<html");
  });

  /** Seconds until the last of the 50 silent plaintext connections was closed by the proxy. */
  let plaintextCutS = Number.POSITIVE_INFINITY;

  test("50 silent plaintext connections hold no session slot and are cut off (Bun's fixed ~10-12 s timer)", async () => {
    const conns: { s: Socket<undefined>; closed: boolean }[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      const entry = { s: null as unknown as Socket<undefined>, closed: false };
      entry.s = await Bun.connect({
        hostname: "127.0.0.1",
        port: proxy.port,
        socket: { data() {}, close: () => void (entry.closed = true), error: () => void (entry.closed = true) },
      });
      conns.push(entry);
    }
    try {
      // --max-sessions 2: both real sessions still fit.
      const t = engineTicket(keys.engine, target.port);
      expect((await upgradeStatus(proxy.port, `/${t}`)).status).toBe(101);
      expect((await get("/console.css")).status).toBe(200);
      const deadline = t0 + BUN_CUTOFF_S * 1000;
      while (conns.some((c) => !c.closed) && Date.now() < deadline) await Bun.sleep(100);
      expect(conns.filter((c) => !c.closed).length).toBe(0);
      plaintextCutS = (Date.now() - t0) / 1000;
    } finally {
      for (const c of conns) c.s.end();
    }
  }, 25_000);

  // Silent and slow clients are cut by Bun's fixed request timer (10 s, checked on a ~4 s tick);
  // Bun offers no shorter setting for connections that have not finished a request.

  test("a slowloris client sending one byte a second is cut off (by Bun's fixed request timer), without a page", async () => {
    const r = await slow;
    expect(r.cutAfterS).not.toBeNull();
    // Cut by Bun's fixed request timer (10 s, checked on a ~4 s tick), which is the proxy's handshake timeout.
    expect(r.cutAfterS!).toBeLessThan(BUN_CUTOFF_S);
    expect(r.reply).not.toContain("200 OK");
  }, 20_000);
});
