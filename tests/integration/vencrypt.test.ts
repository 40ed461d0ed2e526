/**
 * connectVencrypt against real QEMU with VNC TLS (`tls-creds-x509`, as vdsm runs it with
 * vnc_tls=1), and against small fake servers for the no-hang cases. A tiny RFB client plays the
 * browser: it checks the preface, then runs VNC authentication end to end inside the TLS leg and
 * reads ServerInit.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess, TCPSocketListener } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { connectVencrypt, type VncTlsOptions } from "../../src/relay/vencrypt.ts";
import { TargetError, type ConnectRequest, type ConnectedTarget } from "../../src/relay/target.ts";
import { vncAuthResponse } from "../../src/rfb/des.ts";
import { ByteReader } from "../../src/rfb/reader.ts";
import { makeVncPki, type VncPki } from "../helpers/vnc-pki.ts";

const QEMU = Bun.which("qemu-system-x86_64");
const PASSWORD = "secret12";
const VM_NAME = "novnc-vencrypt-test";
const NO_CHECKS: VncTlsOptions = { caPem: null, verifyName: false, clientCertPem: null, clientKeyPem: null };
const enc = new TextEncoder();
const dec = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// QEMU

interface Qemu {
  proc: Subprocess;
  port: number;
}

/** A display number whose port is free now (QEMU then fails fast if someone takes it first). */
async function freeDisplay(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const display = 100 + Math.floor(Math.random() * 900);
    try {
      const l = Bun.listen({ hostname: "127.0.0.1", port: 5900 + display, socket: { data() {} } });
      l.stop(true);
      return display;
    } catch {
      // in use: try another
    }
  }
  throw new Error("no free VNC display found");
}

/** Sends QMP commands in order over QEMU's unix socket; resolves when each returned. */
async function qmp(path: string, commands: object[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let buffered = "";
  let wake: (() => void) | null = null;
  let closed = false;
  let sock: Awaited<ReturnType<typeof Bun.connect>> | undefined;
  while (!sock) {
    try {
      sock = await Bun.connect({
        unix: path,
        socket: {
          data(_s, d) {
            buffered += dec.decode(d);
            wake?.();
          },
          close() {
            closed = true;
            wake?.();
          },
        },
      });
    } catch {
      if (Date.now() > deadline) throw new Error("QMP socket never came up");
      await Bun.sleep(100);
    }
  }
  const nextMessage = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) return JSON.parse(line);
        continue;
      }
      if (closed || Date.now() > deadline) throw new Error("QMP closed or timed out");
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  };
  try {
    await nextMessage(); // greeting
    for (const cmd of commands) {
      sock.write(`${JSON.stringify(cmd)}\n`);
      for (;;) {
        const msg = await nextMessage();
        if ("error" in msg) throw new Error(`QMP error: ${JSON.stringify(msg.error)}`);
        if ("return" in msg) break; // events are skipped
      }
    }
  } finally {
    sock.end();
  }
}

/** QEMU, paused (-S: no guest CPU burn), VNC on 127.0.0.1 with a password set over QMP like vdsm. */
async function startQemu(dir: string, tls: { pki: VncPki; verifyPeer: boolean } | null): Promise<Qemu> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const display = await freeDisplay();
    const qmpPath = join(dir, `qmp-${display}.sock`);
    const args = ["-nodefaults", "-vga", "std", "-display", "none", "-S", "-name", VM_NAME, "-qmp", `unix:${qmpPath},server=on,wait=off`];
    if (tls) {
      args.push("-object", `tls-creds-x509,id=tls0,dir=${tls.pki.dir},endpoint=server,verify-peer=${tls.verifyPeer ? "on" : "off"}`);
      args.push("-vnc", `127.0.0.1:${display},tls-creds=tls0,password=on`);
    } else {
      args.push("-vnc", `127.0.0.1:${display},password=on`);
    }
    const proc = Bun.spawn([QEMU!, ...args], { stdout: "ignore", stderr: "pipe" });
    const deadline = Date.now() + 15_000;
    while (!existsSync(qmpPath) && proc.exitCode === null && Date.now() < deadline) await Bun.sleep(50);
    if (proc.exitCode !== null || !existsSync(qmpPath)) {
      proc.kill();
      continue; // display taken meanwhile, or slow start: try another
    }
    await qmp(qmpPath, [
      { execute: "qmp_capabilities" },
      { execute: "set_password", arguments: { protocol: "vnc", password: PASSWORD } },
    ]);
    return { proc, port: 5900 + display };
  }
  throw new Error("QEMU did not start");
}

// ---------------------------------------------------------------------------------------------
// A browser-like RFB client on top of ConnectedTarget

interface Client {
  target: ConnectedTarget;
  /** Exactly n bytes from the VNC server (through TLS), or throws after a bounded wait. */
  read(n: number, waitMs?: number): Promise<Uint8Array>;
  closed: () => string | undefined | null;
  /** True if any data event fired before connectVencrypt returned (it must not). */
  dataBeforeReturn: boolean;
}

async function connect(port: number, vnc: VncTlsOptions, ticketHost = "127.0.0.1", timeoutMs = 5000): Promise<Client> {
  const inbox = new ByteReader(1 << 20);
  let wake: (() => void) | null = null;
  let returned = false;
  let dataBeforeReturn = false;
  let closeState: string | undefined | null = null; // null = open
  const req: ConnectRequest = {
    address: "127.0.0.1",
    port,
    ticketHost,
    timeoutMs,
    events: {
      data(bytes) {
        if (!returned) dataBeforeReturn = true;
        inbox.push(bytes.slice());
        wake?.();
      },
      drain() {},
      close(error) {
        closeState = error;
        wake?.();
      },
    },
  };
  const target = await connectVencrypt(req, vnc);
  returned = true;
  return {
    target,
    get dataBeforeReturn() {
      return dataBeforeReturn;
    },
    closed: () => closeState,
    async read(n, waitMs = 5000) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const b = inbox.read(n);
        if (b) return b;
        if (closeState !== null) throw new Error(`target closed: ${closeState ?? "hung up"}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
  };
}

/** What noVNC does after the preface: VNC auth, ClientInit, ServerInit. */
async function authenticate(c: Client, password: string): Promise<{ ok: true; width: number; height: number; name: string } | { ok: false; reason: string }> {
  const { target } = c;
  expect(dec.decode(target.clientPreface)).toBe("RFB 003.008\n\x01\x02");
  expect(dec.decode(target.clientExpect)).toBe("RFB 003.008\n\x02");
  const challenge = await c.read(16);
  expect(target.conn.write(vncAuthResponse(challenge, password))).toBe(16);
  const result = new DataView((await c.read(4)).buffer).getUint32(0);
  if (result !== 0) {
    const len = new DataView((await c.read(4)).slice().buffer).getUint32(0);
    return { ok: false, reason: dec.decode(await c.read(len)) };
  }
  expect(target.conn.write(new Uint8Array([1]))).toBe(1); // ClientInit: shared
  const init = (await c.read(24)).slice();
  const view = new DataView(init.buffer);
  const name = dec.decode(await c.read(view.getUint32(20)));
  return { ok: true, width: view.getUint16(0), height: view.getUint16(2), name };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TargetError);
    return (err as Error).message;
  }
  throw new Error("expected the connection to fail");
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(!QEMU)("connectVencrypt against QEMU with VNC TLS", () => {
  let pki: VncPki;
  let other: VncPki;
  let tlsQemu: Qemu;
  let peerQemu: Qemu;
  let plainQemu: Qemu;
  const started: Subprocess[] = [];

  beforeAll(async () => {
    pki = makeVncPki();
    other = makeVncPki({ caName: "Some other CA" });
    tlsQemu = await startQemu(pki.dir, { pki, verifyPeer: false });
    started.push(tlsQemu.proc);
    peerQemu = await startQemu(pki.dir, { pki, verifyPeer: true });
    started.push(peerQemu.proc);
    plainQemu = await startQemu(pki.dir, null);
    started.push(plainQemu.proc);
  }, 60_000);

  afterAll(async () => {
    for (const p of started) {
      p.kill();
      await p.exited;
    }
    pki?.cleanup();
    other?.cleanup();
  });

  test("without certificate checks, VNC auth runs end to end inside TLS and ServerInit arrives", async () => {
    const c = await connect(tlsQemu.port, NO_CHECKS);
    const r = await authenticate(c, PASSWORD);
    expect(r).toMatchObject({ ok: true, name: `QEMU (${VM_NAME})` });
    if (r.ok) expect(r.width * r.height).toBeGreaterThan(0);
    expect(c.dataBeforeReturn).toBe(false);
    c.target.conn.end();
    c.target.conn.end(); // idempotent
  });

  test("pause holds the TLS stream's data back and resume lets it flow (backpressure passes through)", async () => {
    const c = await connect(tlsQemu.port, NO_CHECKS);
    const r = await authenticate(c, PASSWORD);
    if (!r.ok) throw new Error("auth failed");
    const { conn } = c.target;
    const setRawOnly = new Uint8Array([2, 0, 0, 1, 0, 0, 0, 0]);
    const fullUpdate = new Uint8Array([3, 0, 0, 0, 0, 0, r.width >> 8, r.width & 255, r.height >> 8, r.height & 255]);
    conn.pause();
    expect(conn.write(setRawOnly)).toBe(setRawOnly.length);
    expect(conn.write(fullUpdate)).toBe(fullUpdate.length);
    // Paused: the update QEMU sends must not reach us. (A wait, not a timing assertion.)
    await expect(c.read(1, 500)).rejects.toThrow("timed out");
    conn.resume();
    const header = await c.read(4);
    expect(header[0]).toBe(0); // FramebufferUpdate
    conn.end();
  }, 15_000);

  test("a wrong password is refused by QEMU itself, proving the challenge is not answered by the proxy", async () => {
    const c = await connect(tlsQemu.port, NO_CHECKS);
    const r = await authenticate(c, "wrong-pw");
    expect(r.ok).toBe(false);
    c.target.conn.end();
  });

  test("with the right CA and name checks (IP and DNS name) it connects", async () => {
    for (const host of ["127.0.0.1", "localhost"]) {
      const c = await connect(tlsQemu.port, { ...NO_CHECKS, caPem: pki.caPem, verifyName: true }, host);
      expect((await authenticate(c, PASSWORD)).ok).toBe(true);
      c.target.conn.end();
    }
  });

  test("with another CA it fails with a clear reason", async () => {
    const reason = await failure(connect(tlsQemu.port, { ...NO_CHECKS, caPem: other.caPem }));
    expect(reason).toStartWith("VNC server certificate not trusted");
  });

  test("with name checks and a ticket host the certificate does not name, it fails", async () => {
    const reason = await failure(connect(tlsQemu.port, { ...NO_CHECKS, caPem: pki.caPem, verifyName: true }, "vnc.example.com"));
    expect(reason).toBe("VNC server certificate does not name vnc.example.com");
  });

  test("QEMU with verify-peer=on accepts our client certificate", async () => {
    const c = await connect(peerQemu.port, { ...NO_CHECKS, caPem: pki.caPem, clientCertPem: pki.clientCertPem, clientKeyPem: pki.clientKeyPem });
    expect((await authenticate(c, PASSWORD)).ok).toBe(true);
    c.target.conn.end();
  });

  test("QEMU with verify-peer=on refuses us without a client certificate, with a clear reason", async () => {
    const reason = await failure(connect(peerQemu.port, NO_CHECKS));
    expect(reason).toBe("VeNCrypt TLS failed: server closed the session (client certificate required?)");
  });

  test("QEMU with verify-peer=on refuses a client certificate from another CA", async () => {
    const reason = await failure(connect(peerQemu.port, { ...NO_CHECKS, clientCertPem: other.clientCertPem, clientKeyPem: other.clientKeyPem }));
    expect(reason).toStartWith("VeNCrypt TLS failed");
  });

  test("ssl_target against a plain (non-TLS) QEMU fails: the server does not offer TLS", async () => {
    const reason = await failure(connect(plainQemu.port, NO_CHECKS));
    expect(reason).toBe("VNC server does not offer TLS (VeNCrypt)");
  });
});

describe("connectVencrypt does not hang", () => {
  const listeners: TCPSocketListener<undefined>[] = [];
  afterAll(() => {
    for (const l of listeners) l.stop(true);
  });

  /** A TCP server on port 0 whose behaviour on connect is `onOpen`. */
  function fakeServer(onOpen: (write: (b: Uint8Array | string) => void, end: () => void) => void): number {
    const l = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s) {
          onOpen((b) => s.write(b), () => s.end());
        },
        data() {},
      },
    });
    listeners.push(l);
    return l.port;
  }

  test("a server that never speaks times out naming the step", async () => {
    const port = fakeServer(() => {});
    expect(await failure(connect(port, NO_CHECKS, "127.0.0.1", 300))).toBe("VNC server handshake timeout (RFB version)");
  });

  test("a server that completes VeNCrypt but never answers the TLS ClientHello times out in the TLS handshake", async () => {
    const port = fakeServer((write) => {
      write(new Uint8Array([...enc.encode("RFB 003.008\n"), 1, 19, 0, 2, 0, 1, 0, 0, 1, 5, 1]));
    });
    expect(await failure(connect(port, NO_CHECKS, "127.0.0.1", 500))).toBe("VNC server handshake timeout (TLS handshake)");
  });

  test("a server that hangs up mid-handshake fails naming the step", async () => {
    const port = fakeServer((write, end) => {
      write("RFB 003.008\n");
      write(new Uint8Array([1, 19]));
      end();
    });
    expect(await failure(connect(port, NO_CHECKS))).toBe("VNC server closed the connection during VeNCrypt version");
  });

  test("a server that answers TLS with garbage fails the TLS step", async () => {
    const port = fakeServer((write) => {
      write(new Uint8Array([...enc.encode("RFB 003.008\n"), 1, 19, 0, 2, 0, 1, 0, 0, 1, 5, 1]));
      setTimeout(() => write(enc.encode("this is not TLS at all, sorry".repeat(4))), 50);
    });
    expect(await failure(connect(port, NO_CHECKS))).toStartWith("VeNCrypt TLS failed");
  });

  test("a closed port is refused", async () => {
    const l = Bun.listen<undefined>({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = l.port;
    l.stop(true);
    expect(await failure(connect(port, NO_CHECKS))).toBe("VNC server refused the connection");
  });
});
