/**
 * A small RFB client for tests, over a WebSocket (through the proxy) or raw TCP (straight to
 * QEMU or the demo server). It does the real handshake, VNC authentication included, so a test
 * proves the whole path carries a working VNC session, and reads exact byte counts across
 * message/segment boundaries with a timeout so a hung peer fails the test instead of hanging it.
 */
import type { Socket } from "bun";
import { parsePixelFormat, type PixelFormat } from "../../src/demo/client-messages.ts";
import {
  CLIENT_FRAMEBUFFER_UPDATE_REQUEST,
  CLIENT_KEY_EVENT,
  CLIENT_POINTER_EVENT,
  CLIENT_SET_ENCODINGS,
  CLIENT_SET_PIXEL_FORMAT,
  ENCODING_RAW,
  RFB_VERSION_3_8,
  SECURITY_RESULT_OK,
  SECURITY_TYPE_VNC_AUTH,
  SERVER_BELL,
  SERVER_CUT_TEXT,
  SERVER_FRAMEBUFFER_UPDATE,
  SERVER_SET_COLOUR_MAP_ENTRIES,
} from "../../src/rfb/constants.ts";
import { vncAuthResponse } from "../../src/rfb/des.ts";
import { ByteReader } from "../../src/rfb/reader.ts";
import { writePixelFormat } from "../../src/demo/pixel-encoding.ts";

/** How a connection ended: websocket close code/reason, or code 0 for a TCP close. */
export interface Closed {
  code: number;
  reason: string;
}

/** A byte pipe to an RFB server. */
export interface Transport {
  /** Exactly `n` bytes, waiting across messages/segments; rejects on timeout or close. */
  recv(n: number, timeoutMs?: number): Promise<Uint8Array>;
  send(bytes: Uint8Array): void;
  close(): void;
  /** Resolves when the connection ends (never rejects). */
  closed: Promise<Closed>;
  /** Bytes received and not yet read by `recv`. */
  readonly buffered: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** The proxy's byte queue plus one waiting `recv`: pushes from the socket, exact reads for the test. */
class WaitingReader {
  private queue = new ByteReader(Number.POSITIVE_INFINITY);
  private waiter: { n: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | null = null;
  private ended: Closed | null = null;

  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.wake();
  }

  end(closed: Closed): void {
    this.ended = closed;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const bytes = this.queue.read(w.n);
    if (bytes) {
      this.waiter = null;
      w.resolve(bytes.slice());
    } else if (this.ended) {
      this.waiter = null;
      w.reject(
        new Error(
          `connection closed (code ${this.ended.code} ${JSON.stringify(this.ended.reason)}) ` +
            `while waiting for ${w.n} bytes, ${this.buffered} buffered`,
        ),
      );
    }
  }

  recv(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Uint8Array> {
    if (this.waiter) return Promise.reject(new Error("recv() already pending"));
    if (n === 0) return Promise.resolve(new Uint8Array(0));
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${n} bytes, ${this.buffered} buffered`));
      }, timeoutMs);
      this.waiter = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.wake();
    });
  }
}

export interface WsTransport extends Transport {
  ws: WebSocket;
  /** The subprotocol the server chose ("" for none). */
  protocol: string;
}

export interface OpenWsOptions {
  /** Default ["binary"]; [] offers none. */
  protocols?: string[];
  headers?: Record<string, string>;
  /** Default: accept any certificate (tests use self-signed ones). */
  rejectUnauthorized?: boolean;
  timeoutMs?: number;
}

/**
 * Opens a websocket and resolves once it is open. Rejects when the upgrade fails (refused
 * status, TLS or connect error); the error says the close code Bun reported.
 */
export function openWs(url: string, opts: OpenWsOptions = {}): Promise<WsTransport> {
  const reader = new WaitingReader();
  // Bun's constructor takes options (tls, headers); the DOM typings only know protocols.
  const BunWebSocket = WebSocket as unknown as new (url: string, options: Bun.WebSocketOptions) => WebSocket;
  const ws = new BunWebSocket(url, {
    protocols: opts.protocols ?? ["binary"],
    headers: opts.headers,
    tls: { rejectUnauthorized: opts.rejectUnauthorized ?? false },
  });
  ws.binaryType = "arraybuffer";
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  ws.addEventListener("message", (e) => {
    const d = e.data;
    if (d instanceof ArrayBuffer) reader.push(new Uint8Array(d));
    else if (typeof d === "string") reader.push(new TextEncoder().encode(d));
  });
  ws.addEventListener("close", (e) => {
    const c = { code: e.code, reason: e.reason };
    reader.end(c);
    resolveClosed(c);
  });
  return new Promise<WsTransport>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`websocket ${url.replace(/\/[^/]*$/, "/…")} did not open in time`));
      ws.close();
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve({
        ws,
        protocol: ws.protocol,
        recv: (n, t) => reader.recv(n, t),
        send: (b) => ws.send(b as Uint8Array<ArrayBuffer>),
        close: () => ws.close(),
        closed,
        get buffered() {
          return reader.buffered;
        },
      });
    });
    closed.then((c) => {
      clearTimeout(timer);
      reject(new Error(`websocket closed before open (code ${c.code} ${JSON.stringify(c.reason)})`));
    });
  });
}

/** Raw TCP transport (Bun.connect), e.g. straight to QEMU's VNC port. */
export async function openTcp(hostname: string, port: number): Promise<Transport> {
  const reader = new WaitingReader();
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  const pending: Uint8Array[] = [];
  const flush = (s: Socket<undefined>) => {
    while (pending.length > 0) {
      const head = pending[0]!;
      const n = s.write(head);
      if (n < 0) return;
      if (n < head.length) {
        pending[0] = head.subarray(n);
        return;
      }
      pending.shift();
    }
  };
  const socket = await Bun.connect({
    hostname,
    port,
    socket: {
      data(_s, chunk) {
        reader.push(new Uint8Array(chunk));
      },
      drain(s) {
        flush(s);
      },
      close() {
        reader.end({ code: 0, reason: "tcp closed" });
        resolveClosed({ code: 0, reason: "tcp closed" });
      },
      error() {},
    },
  });
  return {
    recv: (n, t) => reader.recv(n, t),
    send(b) {
      pending.push(b);
      if (pending.length === 1) flush(socket);
    },
    close: () => socket.end(),
    closed,
    get buffered() {
      return reader.buffered;
    },
  };
}

export interface HandshakeResult {
  /** "failed" when the server refused (wrong password...); `reason` then holds its words. */
  securityResult: "ok" | "failed";
  reason: string | null;
  /** Server's protocol version line, e.g. "RFB 003.008\n". */
  serverVersion: string;
  /** Security types the server offered. */
  securityTypes: number[];
  /** From ServerInit; 0 / "" / null when the handshake failed. */
  width: number;
  height: number;
  name: string;
  pixelFormat: PixelFormat | null;
  /** The VNC authentication challenge received and the response sent (null before that step). */
  challenge: Uint8Array | null;
  response: Uint8Array | null;
}

const u32 = (b: Uint8Array, o = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);
const u16 = (b: Uint8Array, o = 0) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(o);

async function readString(t: Transport): Promise<string> {
  const len = u32(await t.recv(4));
  if (len > 1 << 20) throw new Error(`unreasonable string length ${len}`);
  return new TextDecoder().decode(await t.recv(len));
}

/**
 * The whole RFB 3.8 client handshake with VNC authentication: version, security type 2, DES
 * response, SecurityResult (with the server's reason on failure), ClientInit (shared), ServerInit.
 */
export async function rfbHandshake(t: Transport, password: string, timeoutMs = DEFAULT_TIMEOUT_MS, shared = true): Promise<HandshakeResult> {
  const serverVersion = new TextDecoder().decode(await t.recv(12, timeoutMs));
  if (!/^RFB \d{3}\.\d{3}\n$/.test(serverVersion)) throw new Error(`not an RFB server: ${JSON.stringify(serverVersion)}`);
  t.send(new TextEncoder().encode(RFB_VERSION_3_8));
  const count = (await t.recv(1, timeoutMs))[0]!;
  const base = { serverVersion, width: 0, height: 0, name: "", pixelFormat: null, challenge: null, response: null };
  if (count === 0) {
    return { ...base, securityResult: "failed", reason: await readString(t), securityTypes: [] };
  }
  const securityTypes = [...(await t.recv(count, timeoutMs))];
  if (!securityTypes.includes(SECURITY_TYPE_VNC_AUTH)) {
    throw new Error(`server does not offer VNC authentication (offers ${securityTypes.join(",")})`);
  }
  t.send(Uint8Array.of(SECURITY_TYPE_VNC_AUTH));
  const challenge = (await t.recv(16, timeoutMs)).slice();
  const response = vncAuthResponse(challenge, password);
  t.send(response);
  const result = u32(await t.recv(4, timeoutMs));
  if (result !== SECURITY_RESULT_OK) {
    // QEMU NUL-terminates its reason ("Authentication failed\0"); compare the words only.
    const reason = (await readString(t)).replace(/\0+$/, "");
    return { ...base, securityTypes, securityResult: "failed", reason, challenge, response };
  }
  t.send(Uint8Array.of(shared ? 1 : 0)); // ClientInit
  const init = await t.recv(24, timeoutMs);
  const nameLength = u32(init, 20);
  const name = new TextDecoder().decode(await t.recv(nameLength, timeoutMs));
  return {
    serverVersion,
    securityTypes,
    securityResult: "ok",
    reason: null,
    width: u16(init, 0),
    height: u16(init, 2),
    name,
    pixelFormat: parsePixelFormat(init, 4),
    challenge,
    response,
  };
}

/** The pixel format noVNC asks for: 32 bpp little-endian true colour, red at shift 0. */
export const NOVNC_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 0,
  greenShift: 8,
  blueShift: 16,
};

export function setPixelFormat(t: Transport, f: PixelFormat): void {
  const b = new Uint8Array(20);
  b[0] = CLIENT_SET_PIXEL_FORMAT;
  writePixelFormat(new DataView(b.buffer), 4, f);
  t.send(b);
}

export function setEncodings(t: Transport, encodings: number[] = [ENCODING_RAW]): void {
  const b = new Uint8Array(4 + 4 * encodings.length);
  const v = new DataView(b.buffer);
  b[0] = CLIENT_SET_ENCODINGS;
  v.setUint16(2, encodings.length);
  encodings.forEach((e, i) => v.setInt32(4 + 4 * i, e));
  t.send(b);
}

export function requestUpdate(
  t: Transport,
  region: { x?: number; y?: number; width: number; height: number },
  incremental = false,
): void {
  const b = new Uint8Array(10);
  const v = new DataView(b.buffer);
  b[0] = CLIENT_FRAMEBUFFER_UPDATE_REQUEST;
  b[1] = incremental ? 1 : 0;
  v.setUint16(2, region.x ?? 0);
  v.setUint16(4, region.y ?? 0);
  v.setUint16(6, region.width);
  v.setUint16(8, region.height);
  t.send(b);
}

export function sendKey(t: Transport, down: boolean, keysym: number): void {
  const b = new Uint8Array(8);
  b[0] = CLIENT_KEY_EVENT;
  b[1] = down ? 1 : 0;
  new DataView(b.buffer).setUint32(4, keysym);
  t.send(b);
}

/** Press and release each key in order. */
export function typeKeys(t: Transport, keysyms: number[]): void {
  for (const k of keysyms) {
    sendKey(t, true, k);
    sendKey(t, false, k);
  }
}

export function sendPointer(t: Transport, x: number, y: number, buttons = 0): void {
  const b = new Uint8Array(6);
  const v = new DataView(b.buffer);
  b[0] = CLIENT_POINTER_EVENT;
  b[1] = buttons;
  v.setUint16(2, x);
  v.setUint16(4, y);
  t.send(b);
}

export interface RawRect {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
  /** Raw pixel bytes (empty for pseudo-encodings). */
  data: Uint8Array;
}

/**
 * Reads server messages until a FramebufferUpdate arrives (skipping bell, cut text and colour
 * map messages) and returns its rectangles. Only Raw and pseudo-encodings without payload
 * are understood, so call `setEncodings(t, [ENCODING_RAW])` first.
 */
export async function readUpdate(t: Transport, bytesPerPixel = 4, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawRect[]> {
  for (;;) {
    const type = (await t.recv(1, timeoutMs))[0]!;
    if (type === SERVER_BELL) continue;
    if (type === SERVER_CUT_TEXT) {
      await t.recv(3, timeoutMs);
      await readString(t);
      continue;
    }
    if (type === SERVER_SET_COLOUR_MAP_ENTRIES) {
      const h = await t.recv(5, timeoutMs);
      await t.recv(6 * u16(h, 3), timeoutMs);
      continue;
    }
    if (type !== SERVER_FRAMEBUFFER_UPDATE) throw new Error(`unexpected server message type ${type}`);
    const count = u16(await t.recv(3, timeoutMs), 1);
    const rects: RawRect[] = [];
    for (let i = 0; i < count; i++) {
      const h = await t.recv(12, timeoutMs);
      const v = new DataView(h.buffer, h.byteOffset, 12);
      const rect = { x: v.getUint16(0), y: v.getUint16(2), width: v.getUint16(4), height: v.getUint16(6), encoding: v.getInt32(8) };
      if (rect.encoding === ENCODING_RAW) {
        rects.push({ ...rect, data: await t.recv(rect.width * rect.height * bytesPerPixel, timeoutMs) });
      } else if (rect.encoding < 0) {
        rects.push({ ...rect, data: new Uint8Array(0) }); // pseudo-encoding without payload (DesktopSize)
      } else {
        throw new Error(`unsupported encoding ${rect.encoding}`);
      }
    }
    return rects;
  }
}

/** Number of distinct 32-bit pixel values in Raw rectangles; > 1 means a real picture. */
export function distinctPixels(rects: RawRect[]): number {
  const seen = new Set<number>();
  for (const r of rects) {
    const v = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    for (let o = 0; o + 4 <= r.data.length; o += 4) seen.add(v.getUint32(o, true));
  }
  return seen.size;
}
