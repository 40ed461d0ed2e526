/**
 * A minimal websocket client over a raw TLS socket, for tests that need what the browser API
 * hides: the HTTP status of a refused upgrade, and control over reading (a slow reader).
 */
import type { Socket } from "bun";
import { frameHeaderLength, writeFrameHeader } from "../../src/relay/stages/websocket-client.ts";

export interface UpgradeReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

function requestText(port: number, path: string, headers: Record<string, string>): string {
  const h: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(h)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\n\r\n`;
}

function parseHead(text: string): { status: number; headers: Record<string, string>; rest: string } | null {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = text.slice(0, end).split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, rest: text.slice(end + 4) };
}

/** Sends an upgrade request and returns the HTTP answer (refusals are read to the end). */
export async function upgradeStatus(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<UpgradeReply> {
  const c = await RawWsClient.connect(port, path, headers, timeoutMs);
  c.close();
  return c.reply;
}

type Frame = { opcode: number; payload: Uint8Array };

/** A final, masked frame header (with its mask) announcing `len` payload bytes. */
export function frameHeader(len: number, mask: Uint8Array, opcode = 2): Uint8Array {
  const out = new Uint8Array(frameHeaderLength(len));
  writeFrameHeader(out, opcode, len, mask);
  return out;
}

/** A websocket client whose reading can be paused; frames are parsed by hand. */
export class RawWsClient {
  reply!: UpgradeReply;
  socket!: Socket<undefined>;
  private buf = new Uint8Array(0);
  private headDone = false;
  private waiters: Array<() => void> = [];
  /** Binary payload bytes received, as a running total. */
  received = 0;
  private early: Uint8Array[] = [];
  private binaryHandler: ((bytes: Uint8Array) => void) | null = null;
  /** Called with each binary payload (for checksums); payloads that came before it was set are replayed. */
  set onBinary(f: ((bytes: Uint8Array) => void) | null) {
    this.binaryHandler = f;
    if (f) for (const b of this.early.splice(0)) f(b);
  }
  closeFrame: { code: number; reason: string } | null = null;
  ended = false;

  static async connect(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<RawWsClient> {
    const c = new RawWsClient();
    let handshaken = false;
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      tls: { rejectUnauthorized: false },
      socket: {
        binaryType: "uint8array",
        // Bun's TLS client accepts no writes before its handshake is done (write returns 0).
        handshake: () => {
          handshaken = true;
          c.wake();
        },
        data: (_s, chunk) => c.feed(chunk),
        close: () => c.finish(),
        end: () => c.finish(),
        error: () => c.finish(),
      },
    });
    await c.until(() => handshaken || c.ended, timeoutMs);
    c.socket.write(requestText(port, path, headers));
    await c.until(() => c.headDone || c.ended, timeoutMs);
    if (!c.headDone) throw new Error("no HTTP answer");
    if (c.reply.status !== 101) await c.until(() => c.ended || c.reply.body.length > 0, 1000).catch(() => {});
    return c;
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond` holds (checked on every event), or rejects after timeoutMs. */
  until(cond: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  private feed(chunk: Uint8Array): void {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    if (!this.headDone) {
      const text = new TextDecoder("latin1").decode(this.buf);
      const head = parseHead(text);
      if (!head) return;
      this.headDone = true;
      const headLen = text.indexOf("\r\n\r\n") + 4;
      this.buf = this.buf.slice(headLen);
      this.reply = { status: head.status, headers: head.headers, body: "" };
      if (head.status !== 101) {
        this.reply.body = new TextDecoder().decode(this.buf);
        this.buf = new Uint8Array(0);
        this.wake();
        return;
      }
    } else if (this.reply.status !== 101) {
      this.reply.body += new TextDecoder().decode(chunk);
      this.buf = new Uint8Array(0);
    }
    let f: Frame | null;
    while ((f = this.takeFrame())) this.onFrame(f);
    this.wake();
  }

  private takeFrame(): Frame | null {
    const b = this.buf;
    if (b.length < 2) return null;
    let len = b[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = (b[2]! << 8) | b[3]!;
      off = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      off = 10;
    }
    if (b.length < off + len) return null;
    const frame = { opcode: b[0]! & 0x0f, payload: b.slice(off, off + len) };
    this.buf = b.subarray(off + len);
    return frame;
  }

  private onFrame(f: Frame): void {
    if (f.opcode === 2 || f.opcode === 0) {
      this.received += f.payload.length;
      if (this.binaryHandler) this.binaryHandler(f.payload);
      else this.early.push(f.payload);
    } else if (f.opcode === 8) {
      const code = f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
      this.closeFrame = { code, reason: new TextDecoder().decode(f.payload.subarray(2)) };
    }
  }

  /** Sends a masked frame (binary by default). */
  send(payload: Uint8Array, opcode = 2): void {
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const len = payload.length;
    const head = frameHeader(len, mask, opcode);
    const out = new Uint8Array(head.length + len);
    out.set(head);
    for (let i = 0; i < len; i++) out[head.length + i] = payload[i]! ^ mask[i & 3]!;
    let off = 0;
    // Tests send small frames; loop in case the socket takes part.
    while (off < out.length) {
      const n = this.socket.write(out.subarray(off));
      if (n <= 0) break;
      off += n;
    }
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.end();
  }
}

/** Sends bytes through a session to an echo target and waits for them back: the session is alive and intact. */
export async function roundTrip(c: RawWsClient, text: string): Promise<void> {
  const got: Uint8Array[] = [];
  c.onBinary = (b) => got.push(b);
  c.send(new TextEncoder().encode(text));
  await c.until(() => Buffer.concat(got).toString() === text, 5000);
}
