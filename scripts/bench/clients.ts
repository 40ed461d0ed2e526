/**
 * The one bench client, for every contender: a raw socket (TCP, or TLS + a minimal RFC 6455
 * client) with explicit backpressure and pause/resume, so it can stream as fast as the socket
 * allows, read slowly on purpose, and never buffer behind the measurement's back.
 *
 * Client frames carry a zero masking key: legal on the wire (servers must unmask whatever key
 * arrives, and all of them do the XOR work anyway), and it spares the client a JS XOR pass, which
 * would otherwise make the client the bottleneck of the upload test.
 */
import type { Socket } from "bun";

/** Where a connection goes: plain TCP, or wss with a request path (a fresh ticket for the proxy). */
export interface Endpoint {
  kind: "tcp" | "wss";
  port: number;
  path?: () => string;
}

interface State {
  conn: BenchConn;
}

const OPEN_TIMEOUT_MS = 15_000;

/** A connected client. Payload bytes (websocket data frames, or raw TCP bytes) go to `onData`. */
export class BenchConn {
  onData: (bytes: Uint8Array) => void = () => {};
  readonly closed: Promise<void>;
  isClosed = false;
  private markClosed!: () => void;
  private socket: Socket<State> | null = null;
  private queue: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  // websocket parser state
  private upgraded: boolean;
  private head = "";
  private hdr = new Uint8Array(14);
  private hdrLen = 0;
  private payloadLeft = 0;
  private opcode = 0;
  private control: number[] = [];

  constructor(readonly ws: boolean) {
    this.upgraded = !ws;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  /** Bytes ready to write for one message: framed for websocket, as is for TCP. */
  framed(payload: Uint8Array, opcode = 2): Uint8Array {
    if (!this.ws) return payload;
    const n = payload.byteLength;
    const extra = n < 126 ? 0 : n < 65536 ? 2 : 8;
    const out = new Uint8Array(2 + extra + 4 + n);
    out[0] = 0x80 | opcode;
    if (extra === 0) out[1] = 0x80 | n;
    else if (extra === 2) {
      out[1] = 0x80 | 126;
      out[2] = n >>> 8;
      out[3] = n & 0xff;
    } else {
      out[1] = 0x80 | 127;
      new DataView(out.buffer).setBigUint64(2, BigInt(n));
    }
    // masking key stays 0,0,0,0: the payload is its own masked form
    out.set(payload, 2 + extra + 4);
    return out;
  }

  /** Frames and sends one message; false = held, wait for `drained()` before sending more. */
  send(payload: Uint8Array): boolean {
    return this.sendRaw(this.framed(payload));
  }

  /** Sends bytes already framed (see `framed`); the array must not change until written. */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.isClosed) return false;
    if (this.queue.length > 0) {
      this.queue.push(bytes);
      return false;
    }
    const n = this.socket!.write(bytes);
    if (n < 0) return false;
    if (n < bytes.byteLength) {
      this.queue.push(bytes.subarray(n));
      return false;
    }
    return true;
  }

  /** Resolves once everything sent has been handed to the kernel (or the connection closed). */
  drained(): Promise<void> {
    if (this.queue.length === 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  pause(): void {
    this.socket?.pause();
  }

  resume(): void {
    this.socket?.resume();
  }

  /** Ends the connection (FIN, no close frame: what a browser tab being killed looks like). */
  close(): void {
    if (this.isClosed) return;
    try {
      this.socket?.end();
    } catch {
      // already gone
    }
  }

  /** Drops the connection at once. */
  terminate(): void {
    if (this.isClosed) return;
    try {
      this.socket?.terminate();
    } catch {
      // already gone
    }
  }

  /** @internal socket events */
  _attach(s: Socket<State>): void {
    this.socket = s;
  }

  _onDrain(): void {
    const s = this.socket!;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = s.write(head);
      if (n < 0) return;
      if (n < head.byteLength) {
        this.queue[0] = head.subarray(n);
        return;
      }
      this.queue.shift();
    }
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  _onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
    this.markClosed();
  }

  _onBytes(chunk: Uint8Array): void {
    if (!this.ws) {
      this.onData(chunk);
      return;
    }
    if (!this.upgraded) {
      chunk = this.takeHandshake(chunk);
      if (!this.upgraded || chunk.byteLength === 0) return;
    }
    this.parseFrames(chunk);
  }

  /** Upgrade-response bytes; returns what follows the header block. */
  private upgradeWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;

  _awaitUpgrade(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.upgradeWaiter = { resolve, reject };
    });
  }

  private takeHandshake(chunk: Uint8Array): Uint8Array {
    const before = this.head.length;
    this.head += Buffer.from(chunk).toString("latin1");
    const end = this.head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.head.length > 8192) this.upgradeWaiter?.reject(new Error("upgrade response too long"));
      return new Uint8Array(0);
    }
    const status = this.head.slice(0, this.head.indexOf("\r\n"));
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      const body = this.head.slice(end + 4, end + 200).trim();
      this.upgradeWaiter?.reject(new Error(`upgrade refused: ${status}${body ? ` (${body})` : ""}`));
      this.close();
      return new Uint8Array(0);
    }
    this.upgraded = true;
    const consumed = end + 4 - before;
    this.head = "";
    this.upgradeWaiter?.resolve();
    return chunk.subarray(consumed);
  }

  private parseFrames(chunk: Uint8Array): void {
    let i = 0;
    const len = chunk.byteLength;
    while (i < len) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, len - i);
        if (this.opcode >= 8) for (let k = 0; k < n; k++) this.control.push(chunk[i + k]!);
        else this.onData(chunk.subarray(i, i + n));
        this.payloadLeft -= n;
        i += n;
        if (this.payloadLeft === 0 && this.opcode >= 8) this.onControl();
        continue;
      }
      this.hdr[this.hdrLen++] = chunk[i++]!;
      if (this.hdrLen < 2) continue;
      const len7 = this.hdr[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.hdr[1]! & 0x80 ? 4 : 0);
      if (this.hdrLen < need) continue;
      let plen = len7;
      if (len7 === 126) plen = (this.hdr[2]! << 8) | this.hdr[3]!;
      else if (len7 === 127) plen = Number(new DataView(this.hdr.buffer).getBigUint64(2));
      const op = this.hdr[0]! & 0x0f;
      if (op !== 0) this.opcode = op; // continuation frames keep the data opcode
      this.hdrLen = 0;
      this.payloadLeft = plen;
      this.control = [];
      if (plen === 0 && this.opcode >= 8) this.onControl();
    }
  }

  private onControl(): void {
    const payload = Uint8Array.from(this.control);
    this.control = [];
    if (this.opcode === 0x9) this.sendRaw(this.framed(payload, 0xa));
    else if (this.opcode === 0x8) this.close();
  }
}

/**
 * Connects and, for wss, completes the upgrade (subprotocol `binary`, no compression offered).
 *
 * @throws Error when refused, failed or not open within the timeout
 */
export async function connectEndpoint(ep: Endpoint, timeoutMs = OPEN_TIMEOUT_MS): Promise<BenchConn> {
  const conn = new BenchConn(ep.kind === "wss");
  const upgraded = ep.kind === "wss" ? conn._awaitUpgrade() : Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const closedEarly = conn.closed.then(() => {
    throw new Error("connection closed during set-up");
  });
  try {
    const connecting = Bun.connect<State>({
        hostname: "127.0.0.1",
        port: ep.port,
        data: { conn },
        tls: ep.kind === "wss" ? { rejectUnauthorized: false } : undefined,
        socket: {
          binaryType: "uint8array",
          data: (s, bytes) => s.data.conn._onBytes(bytes),
          drain: (s) => s.data.conn._onDrain(),
          close: (s) => s.data.conn._onClose(),
          end: (s) => s.data.conn.close(),
          error: (s) => s.data.conn._onClose(),
          connectError: (s) => s.data?.conn._onClose(),
        },
      });
    // A connect that completes after the timeout must not leak a socket.
    connecting.then((s) => (conn.isClosed || timedOut ? s.terminate() : undefined)).catch(() => {});
    const socket = await Promise.race([connecting, timeout]);
    conn._attach(socket);
    socket.setNoDelay(true);
    if (ep.kind === "wss") {
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
      const request =
        `GET ${ep.path?.() ?? "/"} HTTP/1.1\r\nHost: 127.0.0.1:${ep.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n`;
      conn.sendRaw(new TextEncoder().encode(request));
      await Promise.race([upgraded, timeout, closedEarly]);
    }
    closedEarly.catch(() => {});
    return conn;
  } catch (err) {
    closedEarly.catch(() => {});
    upgraded.catch(() => {});
    conn.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `cond()` holds after some data arrived, or rejects on close / timeout. */
export function waitFor(conn: BenchConn, cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const prev = conn.onData;
    const timer = setTimeout(() => finish(new Error(`${what}: timed out after ${timeoutMs} ms`)), timeoutMs);
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.onData = prev;
      if (err) reject(err);
      else resolve();
    };
    conn.onData = (bytes) => {
      prev(bytes);
      if (cond()) finish();
    };
    conn.closed.then(() => {
      if (cond()) finish();
      else finish(new Error(`${what}: connection closed`));
    });
  });
}
