/**
 * The VNC side of a session, behind a small interface so the relay does not care whether it is
 * a plain TCP socket (src/relay/tcp-target.ts), a TLS stream opened inside VeNCrypt
 * (src/relay/vencrypt.ts) or a websocket (src/relay/websocket-target.ts). No Bun types here.
 */

/** What the relay can do to the target. Mirrors Bun's Socket so a plain socket needs no wrapper. */
export interface TargetConn {
  /** Bytes accepted now (may be fewer than given: backpressure); -1 when closed; -2 (WRITE_FULL) taken, wait for drain. */
  write(bytes: Uint8Array): number;
  pause(): void;
  resume(): void;
  /** Half-close then close; idempotent. */
  end(): void;
  /** Close at once, dropping unsent bytes (RST): for a browser that vanished mid-stream. */
  terminate(): void;
}

/**
 * What the target tells the relay. Set once, before any data can arrive; events that come before
 * the connector's promise resolves are held by the session and replayed after its preface.
 */
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
