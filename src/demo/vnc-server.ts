/**
 * The built-in demo VNC server: a real RFB 3.8 server (VNC authentication, Raw encoding) on Bun
 * native sockets, showing a live picture that reacts to keyboard and mouse. `novnc-proxy demo`
 * points the proxy at it, and the end-to-end tests use it as a second target beside QEMU, so it
 * behaves like one: same handshake, same SecurityResult reason on a wrong password.
 *
 * Memory per client is bounded: the parser buffers at most one message, damage is a tile grid,
 * and at most one FramebufferUpdate is in flight; further update requests are merged and served
 * once the socket has drained.
 */
import type { Socket, TCPSocketListener } from "bun";
import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  RFB_VERSION_3_8,
  SECURITY_RESULT_FAILED,
  SECURITY_RESULT_OK,
  SECURITY_TYPE_VNC_AUTH,
  VNC_AUTH_CHALLENGE_LENGTH,
} from "../rfb/constants.ts";
import { vncAuthResponse } from "../rfb/des.ts";
import { ClientMessageParser, type ClientMessage, type PixelFormat } from "./client-messages.ts";
import { DirtyTiles } from "./dirty-tiles.ts";
import type { Rect } from "./framebuffer.ts";
import { encodeRawUpdate, SERVER_PIXEL_FORMAT, unsupportedPixelFormat, writePixelFormat } from "./pixel-encoding.ts";
import { DemoScene } from "./scene.ts";

/** Input the server received, in order; what the tests assert on. */
export type DemoInputEvent =
  | { type: "key"; down: boolean; keysym: number }
  | { type: "pointer"; x: number; y: number; buttons: number }
  | { type: "cut-text"; text: string };

export interface DemoVncServerOptions {
  password: string;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 0 (a free port). */
  port?: number;
  width?: number;
  height?: number;
  /** Desktop name sent in ServerInit. */
  name?: string;
  /** Seconds a client may take from connect to ClientInit. Default 30. */
  handshakeTimeoutSeconds?: number;
}

export interface DemoVncServer {
  port: number;
  hostname: string;
  width: number;
  height: number;
  /** Key, pointer and clipboard input received from all clients (the last MAX_EVENTS). */
  events: DemoInputEvent[];
  /** Called for each input event as it arrives. */
  onEvent?: (e: DemoInputEvent) => void;
  /** Number of clients currently connected. */
  readonly clients: number;
  stop(): void;
}

/** Cap on the recorded input events; the oldest are dropped first. */
export const MAX_EVENTS = 10_000;

/** The reason QEMU gives for a wrong VNC password; ours matches so tests treat both alike. */
export const AUTH_FAILED_REASON = "Authentication failed";

interface Conn {
  parser: ClientMessageParser;
  challenge: Uint8Array;
  ready: boolean;
  closing: boolean;
  format: PixelFormat;
  dirty: DirtyTiles;
  unsubscribe: () => void;
  request: { incremental: boolean; region: Rect } | null;
  /** Bytes accepted by us but not yet by the socket, oldest first. */
  queue: Uint8Array[];
  timer: ReturnType<typeof setTimeout> | null;
}

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** SecurityResult "failed" with its reason string (RFB 3.8). */
function failureResult(reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason);
  const out = new Uint8Array(8 + text.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, SECURITY_RESULT_FAILED);
  v.setUint32(4, text.length);
  out.set(text, 8);
  return out;
}

function serverInit(width: number, height: number, name: string): Uint8Array {
  const text = new TextEncoder().encode(name);
  const out = new Uint8Array(24 + text.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, width);
  v.setUint16(2, height);
  writePixelFormat(v, 4, SERVER_PIXEL_FORMAT);
  v.setUint32(20, text.length);
  out.set(text, 24);
  return out;
}

/** Starts the demo server; resolves once it listens. */
export async function startDemoVncServer(opts: DemoVncServerOptions): Promise<DemoVncServer> {
  if (opts.password.length === 0) throw new Error("the demo VNC server needs a password");
  const width = opts.width ?? 800;
  const height = opts.height ?? 600;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 64 || height < 64 || width > 4096 || height > 4096) {
    throw new RangeError("demo framebuffer size must be 64..4096 pixels each way");
  }
  const hostname = opts.hostname ?? "127.0.0.1";
  const name = opts.name ?? "novnc-proxy demo";
  const handshakeMs = (opts.handshakeTimeoutSeconds ?? 30) * 1000;
  const scene = new DemoScene(width, height, name);
  const sockets = new Set<Socket<Conn>>();

  function record(server: DemoVncServer, e: DemoInputEvent): void {
    server.events.push(e);
    if (server.events.length > MAX_EVENTS) server.events.splice(0, server.events.length - MAX_EVENTS);
    server.onEvent?.(e);
  }

  /** Writes what the socket takes now; the rest waits for `drain`. */
  function flush(socket: Socket<Conn>): void {
    const c = socket.data;
    while (c.queue.length > 0) {
      const head = c.queue[0]!;
      const n = socket.write(head);
      if (n < 0) return; // closed
      if (n < head.length) {
        c.queue[0] = head.subarray(n);
        return;
      }
      c.queue.shift();
    }
    if (c.closing) socket.end();
  }

  function send(socket: Socket<Conn>, bytes: Uint8Array): void {
    socket.data.queue.push(bytes);
    if (socket.data.queue.length === 1) flush(socket);
  }

  function fail(socket: Socket<Conn>, bytes?: Uint8Array): void {
    const c = socket.data;
    if (c.closing) return;
    c.closing = true;
    if (bytes) send(socket, bytes);
    else flush(socket);
  }

  /** Sends the pending update when the client asked for one, the socket is idle and there is something to send. */
  function serveUpdate(socket: Socket<Conn>): void {
    const c = socket.data;
    if (!c.ready || c.closing || !c.request || c.queue.length > 0) return;
    const { incremental, region } = c.request;
    let rects: Rect[];
    if (incremental) {
      rects = c.dirty.take(region);
      if (rects.length === 0) return; // keep waiting for damage
    } else {
      const clipped = scene.fb.clip(region);
      c.dirty.take(region);
      rects = clipped ? [clipped] : [];
    }
    c.request = null;
    send(socket, encodeRawUpdate(scene.fb, rects, c.format));
  }

  function serveAll(): void {
    for (const s of sockets) serveUpdate(s);
  }

  function handle(server: DemoVncServer, socket: Socket<Conn>, msg: ClientMessage): void {
    const c = socket.data;
    switch (msg.type) {
      case "version":
        if (msg.version !== RFB_VERSION_3_8) {
          // 3.3 clients expect a different layout; 3.7+ read a zero count and a reason.
          const reason = new TextEncoder().encode("only RFB 003.008 is supported");
          fail(socket, new Uint8Array([0, ...u32(reason.length), ...reason]));
          return;
        }
        send(socket, Uint8Array.of(1, SECURITY_TYPE_VNC_AUTH));
        return;
      case "security-choice":
        if (msg.securityType !== SECURITY_TYPE_VNC_AUTH) {
          fail(socket, failureResult("unsupported security type"));
          return;
        }
        send(socket, c.challenge);
        return;
      case "auth-response": {
        const expected = vncAuthResponse(c.challenge, opts.password);
        if (!timingSafeEqual(expected, msg.response)) {
          fail(socket, failureResult(AUTH_FAILED_REASON));
          return;
        }
        send(socket, u32(SECURITY_RESULT_OK));
        return;
      }
      case "client-init":
        if (c.timer) clearTimeout(c.timer);
        c.timer = null;
        c.ready = true;
        c.unsubscribe = scene.fb.onDamage((r) => c.dirty.mark(r));
        send(socket, serverInit(width, height, name));
        return;
      case "set-pixel-format": {
        const problem = unsupportedPixelFormat(msg.format);
        if (problem) {
          fail(socket);
          return;
        }
        c.format = msg.format;
        return;
      }
      case "set-encodings":
        return; // Raw is always allowed; nothing else is used.
      case "update-request": {
        const region = { x: msg.x, y: msg.y, width: msg.width, height: msg.height };
        const prev = c.request;
        c.request = prev
          ? { incremental: prev.incremental && msg.incremental, region: union(prev.region, region) }
          : { incremental: msg.incremental, region };
        serveUpdate(socket);
        return;
      }
      case "key":
        record(server, { type: "key", down: msg.down, keysym: msg.keysym });
        scene.key(msg.down, msg.keysym);
        serveAll();
        return;
      case "pointer":
        record(server, { type: "pointer", x: msg.x, y: msg.y, buttons: msg.buttons });
        scene.pointer(msg.x, msg.y, msg.buttons);
        serveAll();
        return;
      case "cut-text":
        record(server, { type: "cut-text", text: msg.text });
        scene.cutText(msg.text);
        serveAll();
        return;
      case "error":
        fail(socket);
        return;
    }
  }

  let server!: DemoVncServer;
  const listener: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname,
    port: opts.port ?? 0,
    socket: {
      open(socket) {
        socket.data = {
          parser: new ClientMessageParser(),
          challenge: new Uint8Array(randomBytes(VNC_AUTH_CHALLENGE_LENGTH)),
          ready: false,
          closing: false,
          format: SERVER_PIXEL_FORMAT,
          dirty: new DirtyTiles(width, height),
          unsubscribe: () => {},
          request: null,
          queue: [],
          timer: setTimeout(() => socket.end(), handshakeMs),
        };
        socket.setNoDelay(true);
        sockets.add(socket);
        send(socket, new TextEncoder().encode(RFB_VERSION_3_8));
      },
      data(socket, chunk) {
        if (socket.data.closing) return;
        for (const msg of socket.data.parser.push(chunk)) {
          handle(server, socket, msg);
          if (socket.data.closing) return;
        }
      },
      drain(socket) {
        flush(socket);
        serveUpdate(socket);
      },
      close(socket) {
        const c = socket.data;
        if (c.timer) clearTimeout(c.timer);
        c.unsubscribe();
        c.queue = [];
        sockets.delete(socket);
      },
      error() {
        // `close` follows and cleans up.
      },
    },
  });

  const clock = setInterval(() => {
    scene.tick(new Date());
    serveAll();
  }, 1000);

  server = {
    port: listener.port,
    hostname,
    width,
    height,
    events: [],
    get clients() {
      return sockets.size;
    },
    stop() {
      clearInterval(clock);
      for (const s of sockets) s.terminate();
      sockets.clear();
      listener.stop(true);
    },
  };
  return server;
}
