/**
 * The bench's servers, each run as its own process so its CPU and memory are its own:
 *
 *   bun scripts/bench/targets.ts tcp                      the VNC stand-in behind the relays
 *   bun scripts/bench/targets.ts wss --cert C --key K     the bare Bun wss server (the ceiling)
 *   bun scripts/bench/targets.ts relay --cert C --key K --target PORT
 *                                                         the smallest Bun relay (the baseline)
 *
 * Both speak scripts/bench/protocol.ts on 127.0.0.1, port 0, and print `ready PORT` once
 * listening. They honour backpressure, so their own memory stays flat whatever the client does.
 */
import type { Server, ServerWebSocket, Socket, WebSocketHandler } from "bun";
import { ACK, STREAM_CHUNK, concatBytes, parseCommand, streamBlock, type Command } from "./protocol.ts";

const BLOCK = streamBlock();
const ACK_BYTES = new Uint8Array([ACK]);

/** Per-connection state shared by both servers. */
interface Conn {
  head: Uint8Array;
  cmd: Command | null;
  /** Bytes still to stream (down) or to sink (up). */
  remaining: number;
  /** Offset into BLOCK of a partially written chunk (TCP only). */
  pending: Uint8Array | null;
}

const newConn = (): Conn => ({ head: new Uint8Array(0), cmd: null, remaining: 0, pending: null });

/** Feeds received bytes to the connection; returns what to do, the server does the I/O. */
function feed(c: Conn, bytes: Uint8Array): { start?: Command; echo?: Uint8Array; ack?: boolean } {
  if (!c.cmd) {
    const parsed = parseCommand(concatBytes(c.head, bytes));
    if (!parsed) {
      c.head = concatBytes(c.head, bytes).slice();
      return {};
    }
    c.head = new Uint8Array(0);
    c.cmd = parsed.cmd;
    c.remaining = parsed.cmd.kind === "down" || parsed.cmd.kind === "up" ? parsed.cmd.bytes : 0;
    const after = feed(c, parsed.rest);
    return { ...after, start: parsed.cmd };
  }
  switch (c.cmd.kind) {
    case "echo":
      return bytes.byteLength > 0 ? { echo: bytes } : {};
    case "up": {
      if (c.remaining <= 0) return {};
      c.remaining -= bytes.byteLength;
      return c.remaining <= 0 ? { ack: true } : {};
    }
    default:
      return {};
  }
}

function runTcp(): void {
  /** Streams until the socket is full; drain calls it again. */
  const pump = (s: Socket<Conn>): void => {
    const c = s.data;
    while (c.pending || c.remaining > 0) {
      const chunk = c.pending ?? BLOCK.subarray(0, Math.min(STREAM_CHUNK, c.remaining));
      if (!c.pending) c.remaining -= chunk.byteLength;
      const n = s.write(chunk);
      if (n < 0) return;
      if (n < chunk.byteLength) {
        c.pending = chunk.subarray(n);
        return;
      }
      c.pending = null;
    }
  };
  const server = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        s.data = newConn();
        s.setNoDelay(true);
      },
      data(s, bytes) {
        let r: ReturnType<typeof feed>;
        try {
          r = feed(s.data, bytes);
        } catch {
          s.end();
          return;
        }
        if (r.start?.kind === "down") pump(s);
        if (r.echo) {
          const n = s.write(r.echo);
          if (n >= 0 && n < r.echo.byteLength) s.data.pending = r.echo.slice(n);
        }
        if (r.ack) s.write(ACK_BYTES);
      },
      drain(s) {
        if (s.data.cmd?.kind === "echo") {
          const p = s.data.pending;
          if (!p) return;
          const n = s.write(p);
          s.data.pending = n >= 0 && n < p.byteLength ? p.slice(n) : null;
          return;
        }
        pump(s);
      },
      error() {},
    },
  });
  console.log(`ready ${server.port}`);
}

/**
 * A wss listener on 127.0.0.1, port 0, that upgrades every request (answering the `binary`
 * subprotocol when offered, as noVNC asks), with the websocket options both wss servers share.
 */
export function serveWss<T>(certFile: string, keyFile: string, newData: () => T, handlers: WebSocketHandler<T>): Server<T> {
  return Bun.serve<T>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(certFile), key: Bun.file(keyFile) },
    fetch(req, srv) {
      const offered = req.headers.get("sec-websocket-protocol") ?? "";
      const headers = offered.split(",").some((p) => p.trim() === "binary") ? { "Sec-WebSocket-Protocol": "binary" } : undefined;
      // Server<unknown>: Bun's upgrade() types cannot resolve its options for a generic T.
      if ((srv as Server<unknown>).upgrade(req, { data: newData(), headers })) return undefined;
      return new Response("websocket only\n", { status: 400 });
    },
    websocket: { perMessageDeflate: false, maxPayloadLength: 16 * 1024 * 1024, idleTimeout: 120, ...handlers },
  });
}

function runWss(certFile: string, keyFile: string): void {
  const pump = (ws: ServerWebSocket<Conn>): void => {
    const c = ws.data;
    while (c.remaining > 0) {
      const n = Math.min(STREAM_CHUNK, c.remaining);
      const r = ws.sendBinary(BLOCK.subarray(0, n));
      if (r === 0) return; // dropped: resend on drain
      c.remaining -= n;
      if (r === -1) return; // queued under backpressure: wait for drain
    }
  };
  const server = serveWss(certFile, keyFile, newConn, {
    sendPings: true,
    message(ws, msg) {
      if (typeof msg === "string") {
        ws.close(1003, "binary only");
        return;
      }
      let r: ReturnType<typeof feed>;
      try {
        r = feed(ws.data, msg);
      } catch {
        ws.close(1002, "bad command");
        return;
      }
      if (r.start?.kind === "down") pump(ws);
      if (r.echo) ws.sendBinary(r.echo);
      if (r.ack) ws.sendBinary(ACK_BYTES);
    },
    drain(ws) {
      pump(ws);
    },
  });
  console.log(`ready ${server.port}`);
}

/** Per-session state of the minimal relay: the TCP side and what either side could not take yet. */
export interface RelayConn {
  tcp: Socket<ServerWebSocket<RelayConn>> | null;
  up: Uint8Array[];
  downHeld: Uint8Array | null;
  downPaused: boolean;
}

export const newRelayConn = (): RelayConn => ({ tcp: null, up: [], downHeld: null, downPaused: false });

/**
 * The smallest possible Bun relay: wss in, TCP out, backpressure both ways, no checks (no ticket,
 * origin, allowlist, limits or logs). What novnc-proxy costs on top of relaying is its ratio to this.
 */
function runRelay(certFile: string, keyFile: string, targetPort: number): void {
  const server = serveWss<RelayConn>(certFile, keyFile, newRelayConn, relayHandlers(targetPort));
  console.log(`ready ${server.port}`);
}

/**
 * The minimal relay's websocket handlers (ws.data from `newRelayConn`): each websocket is joined
 * to a new TCP connection to 127.0.0.1:targetPort. The bench's baseline, and the relay inside
 * tests/helpers/kubevirt-endpoint.ts.
 */
export function relayHandlers(targetPort: number): WebSocketHandler<RelayConn> {
  return {
    async open(ws) {
      ws.pause();
      try {
        ws.data.tcp = await Bun.connect<ServerWebSocket<RelayConn>>({
          hostname: "127.0.0.1",
          port: targetPort,
          data: ws,
          socket: {
            binaryType: "uint8array",
            data(s, bytes) {
              const c = ws.data;
              // -1: queued over the limit; 0: dropped, so keep it for the drain.
              const r = c.downHeld ? 0 : ws.sendBinary(bytes);
              if (r === 0) c.downHeld = c.downHeld ? Buffer.concat([c.downHeld, bytes]) : bytes.slice();
              if (r <= 0 && !c.downPaused) {
                c.downPaused = true;
                s.pause();
              }
            },
            drain(s) {
              const c = ws.data;
              while (c.up.length > 0) {
                const head = c.up[0]!;
                const n = s.write(head);
                if (n < head.byteLength) {
                  if (n > 0) c.up[0] = head.subarray(n);
                  return;
                }
                c.up.shift();
              }
              ws.resume();
            },
            close() {
              ws.close(1000, "Target closed");
            },
            error() {},
          },
        });
        ws.data.tcp.setNoDelay(true);
        ws.resume();
      } catch {
        ws.close(1011, "target unreachable");
      }
    },
    message(ws, msg) {
      const c = ws.data;
      if (typeof msg === "string" || !c.tcp) return;
      if (c.up.length > 0) {
        c.up.push(msg.slice());
        return;
      }
      const n = c.tcp.write(msg);
      if (n < msg.byteLength) {
        c.up.push(msg.slice(Math.max(0, n)));
        ws.pause();
      }
    },
    drain(ws) {
      const c = ws.data;
      if (c.downHeld) {
        if (ws.sendBinary(c.downHeld) === 0) return;
        c.downHeld = null;
      }
      if (c.downPaused) {
        c.downPaused = false;
        c.tcp?.resume();
      }
    },
    close(ws) {
      ws.data.tcp?.end();
    },
  };
}

if (import.meta.main) {
  const [mode, ...rest] = process.argv.slice(2);
  const flag = (name: string): string => {
    const i = rest.indexOf(name);
    const v = i >= 0 ? rest[i + 1] : undefined;
    if (!v) throw new Error(`${name} FILE is required`);
    return v;
  };
  if (mode === "tcp") runTcp();
  else if (mode === "wss") runWss(flag("--cert"), flag("--key"));
  else if (mode === "relay") runRelay(flag("--cert"), flag("--key"), Number(flag("--target")));
  else {
    console.error("usage: targets.ts tcp | wss --cert FILE --key FILE | relay --cert FILE --key FILE --target PORT");
    process.exit(2);
  }
}
