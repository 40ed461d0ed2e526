/**
 * The VNC side of a session, behind a small interface so the relay does not care whether it is
 * a plain TCP socket or a TLS stream opened inside VeNCrypt (src/relay/vencrypt.ts).
 */
import type { Socket } from "bun";

/** What the relay can do to the target. Mirrors Bun's Socket so a plain socket needs no wrapper. */
export interface TargetConn {
  /** Bytes accepted now (may be fewer than given: backpressure); -1 when closed. */
  write(bytes: Uint8Array): number;
  pause(): void;
  resume(): void;
  /** Half-close then close; idempotent. */
  end(): void;
  /** Close at once, dropping unsent bytes (RST): for a browser that vanished mid-stream. */
  terminate(): void;
}

/** What the target tells the relay. Set once, before any data can arrive. */
export interface TargetEvents {
  data(bytes: Uint8Array): void;
  drain(): void;
  /** The target is gone; `error` is set when it failed rather than hung up. */
  close(error?: string): void;
}

export interface ConnectRequest {
  /** The checked address to connect to (never a name: no second DNS lookup). */
  address: string;
  port: number;
  /** The host name or IP from the ticket, for TLS name checks. */
  ticketHost: string;
  timeoutMs: number;
  events: TargetEvents;
}

/** A connected target, plus what the browser must see first when the proxy spoke RFB itself. */
export interface ConnectedTarget {
  conn: TargetConn;
  /** Bytes to send to the browser before relaying (VeNCrypt: version + "offers VNC auth"). */
  clientPreface?: Uint8Array;
  /** Bytes the browser must answer with, swallowed (not forwarded) before relaying starts. */
  clientExpect?: Uint8Array;
}

/** Thrown by connectors; `message` is a short reason fit for a websocket close frame. */
export class TargetError extends Error {
  override name = "TargetError";
}

/** Plain TCP to the VNC server with TCP_NODELAY; bytes pass through untouched. */
export async function connectPlain(req: ConnectRequest): Promise<ConnectedTarget> {
  const { events } = req;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const connecting = Bun.connect({
    hostname: req.address,
    port: req.port,
    socket: {
      binaryType: "uint8array",
      data(_s, chunk) {
        events.data(chunk);
      },
      drain() {
        events.drain();
      },
      close(_s, err) {
        events.close(err ? "target connection failed" : undefined);
      },
      error(_s, err) {
        events.close(`target error: ${(err as NodeJS.ErrnoException).code ?? "I/O"}`);
      },
      end(s) {
        s.end();
      },
    },
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new TargetError("VNC server connect timeout"));
    }, req.timeoutMs);
  });
  try {
    const socket = (await Promise.race([connecting, timeout])) as Socket<undefined>;
    socket.setNoDelay(true);
    return { conn: socket as unknown as TargetConn };
  } catch (err) {
    if (timedOut) {
      // The connect may still complete later: close it then.
      connecting.then((s) => s.end()).catch(() => {});
      throw err;
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw new TargetError(code === "ECONNREFUSED" ? "VNC server refused the connection" : `VNC server unreachable${code ? ` (${code})` : ""}`);
  } finally {
    clearTimeout(timer);
  }
}
