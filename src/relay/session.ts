/**
 * One console session: a browser websocket joined to a VNC target, with backpressure both ways.
 *
 * Bytes are never dropped or reordered: what a side cannot take now is held (at most what was
 * already read when the other side was paused) and the producing side is paused until the slow
 * side drains. Memory per session is therefore bounded by a few chunks, whatever the flood.
 */
import type { ServerWebSocket } from "bun";
import { tagged, logEvent } from "../log.ts";
import { printable } from "../printable.ts";
import type { Outcome } from "../server/metrics.ts";
import { TargetError, type ConnectRequest, type ConnectedTarget, type TargetConn } from "./target.ts";
import { readSecurityOffer, requiresTls } from "../rfb/security-offer.ts";
import { DIRECTION_DOWN, DIRECTION_UP, type Recorder } from "./recorder.ts";

/** How many opening bytes of a plain target are looked at (version + count + types). */
const SNIFF_LIMIT = 64;

const log = tagged("session");

/** Close codes the relay uses, with the reasons upstream oVirt clients know. */
export const CLOSE = {
  TARGET_CLOSED: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  UNSUPPORTED: 1003,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
} as const;

export interface SessionInfo {
  id: string;
  client: string;
  ticketHash: string;
  /** Identifies the ticket for per-ticket caps and single use (its signature); null if unsigned. */
  ticketId: string | null;
  /** host:port as the ticket named it, for logs. */
  targetLabel: string;
  connectRequest: Omit<ConnectRequest, "events">;
  connect: (req: ConnectRequest) => Promise<ConnectedTarget>;
  /** Plain ticket: watch the server's opening and refuse a VeNCrypt-only server (downgrade guard). */
  checkPlainOffer: boolean;
  /** Session recording (`--record`), when enabled; opened once the websocket is open. */
  recorder?: Recorder | null;
  /** Called once the target is connected, with how long it took (metrics). */
  onConnected?: (seconds: number) => void;
  /** Called once when the session ends (metrics, caps bookkeeping). */
  onEnd?: (s: SessionState) => void;
}

export interface SessionState extends SessionInfo {
  startedAt: number;
  /** Wall-clock ms, for the absolute session limit. */
  openedAt: number;
  conn: TargetConn | null;
  /** Browser -> VNC bytes the target could not take yet (or arrived before connect). */
  up: Uint8Array[];
  /** VNC -> browser bytes the websocket dropped (send returned 0). */
  down: Uint8Array[];
  /** The target socket is paused because the browser is slow. */
  targetPaused: boolean;
  /** Bytes the browser must send first and that are swallowed (VeNCrypt termination). */
  expect: Uint8Array | null;
  expectAt: number;
  bytesUp: number;
  bytesDown: number;
  targetGone: boolean;
  ended: boolean;
  /** Closes the session when a plain target sends nothing after connecting (not a VNC server). */
  firstByteTimer: ReturnType<typeof setTimeout> | undefined;
  /** Copy of the target's first bytes while its security offer is being read; null when done. */
  sniff: Uint8Array | null;
  closeReason: string;
  outcome: Outcome | null;
}

export type SessionSocket = ServerWebSocket<SessionState>;

export function newSessionState(info: SessionInfo): SessionState {
  return {
    ...info,
    startedAt: performance.now(),
    openedAt: Date.now(),
    conn: null,
    up: [],
    down: [],
    targetPaused: false,
    expect: null,
    expectAt: 0,
    bytesUp: 0,
    bytesDown: 0,
    targetGone: false,
    ended: false,
    sniff: info.checkPlainOffer ? new Uint8Array(0) : null,
    firstByteTimer: undefined,
    closeReason: "",
    outcome: null,
  };
}

/** Closes the browser side with a code and reason, remembering why for the audit line and metrics. */
export function closeWs(ws: SessionSocket, code: number, reason: string, outcome: Outcome): void {
  const s = ws.data;
  if (!s.closeReason) s.closeReason = `${code} ${reason}`;
  s.outcome ??= outcome;
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}

/** websocket `open`: connect to the target; browser input waits (paused) until then. */
export async function onOpen(ws: SessionSocket): Promise<void> {
  const s = ws.data;
  logEvent(log, "info", `open ${s.id} client=${s.client} target=${s.targetLabel} ticket=${s.ticketHash}`, {
    event: "session_open",
    session: s.id,
    client: s.client,
    target: s.targetLabel,
    ticket: s.ticketHash,
  });
  ws.pause();
  let connected: ConnectedTarget;
  const t0 = performance.now();
  try {
    connected = await s.connect({
      ...s.connectRequest,
      events: {
        data: (bytes) => onTargetData(ws, bytes),
        drain: () => flushUp(ws),
        close: (error) => onTargetClose(ws, error),
      },
    });
  } catch (err) {
    const reason = err instanceof TargetError ? err.message : "VNC server connection failed";
    if (!(err instanceof TargetError)) log.error(`${s.id} connect failed unexpectedly: ${String(err)}`);
    closeWs(ws, CLOSE.INTERNAL, reason, "connect_failed");
    return;
  }
  s.onConnected?.((performance.now() - t0) / 1000);
  if (s.ended) {
    // The browser left while we were connecting.
    connected.conn.end();
    return;
  }
  s.conn = connected.conn;
  if (s.bytesDown === 0) {
    // A VNC server speaks first (its version); one that stays silent would hold a session slot.
    s.firstByteTimer = setTimeout(() => {
      if (s.bytesDown === 0 && !s.ended) closeWs(ws, CLOSE.INTERNAL, "VNC server sent nothing", "target_error");
    }, s.connectRequest.timeoutMs);
  }
  if (connected.clientExpect) s.expect = connected.clientExpect;
  if (connected.clientPreface) {
    // The recording holds what the browser saw, so the opening the proxy speaks for the server is in it.
    s.recorder?.write(DIRECTION_DOWN, connected.clientPreface);
    sendDown(ws, connected.clientPreface);
  }
  flushUp(ws);
}

/** websocket `message`: browser -> VNC. */
export function onMessage(ws: SessionSocket, message: string | Uint8Array): void {
  const s = ws.data;
  if (typeof message === "string") {
    closeWs(ws, CLOSE.UNSUPPORTED, "Text frames not supported", "protocol_error");
    return;
  }
  let bytes = message;
  s.bytesUp += bytes.byteLength;
  s.recorder?.write(DIRECTION_UP, bytes);
  if (s.expect) {
    const take = Math.min(bytes.byteLength, s.expect.byteLength - s.expectAt);
    for (let i = 0; i < take; i++) {
      if (bytes[i] !== s.expect[s.expectAt + i]) {
        closeWs(ws, CLOSE.PROTOCOL, "Unexpected RFB handshake from client", "protocol_error");
        return;
      }
    }
    s.expectAt += take;
    if (s.expectAt === s.expect.byteLength) s.expect = null;
    bytes = bytes.subarray(take);
    if (bytes.byteLength === 0) return;
  }
  if (!s.conn || s.up.length > 0) {
    s.up.push(bytes.slice());
    ws.pause();
    return;
  }
  const n = s.conn.write(bytes);
  if (n < 0) return; // target closing; its close event ends the session
  if (n < bytes.byteLength) {
    s.up.push(bytes.slice(n));
    ws.pause();
  }
}

/** Target drained (or just connected): write what the browser sent meanwhile, then resume it. */
function flushUp(ws: SessionSocket): void {
  const s = ws.data;
  const conn = s.conn;
  if (!conn || s.ended) return;
  while (s.up.length > 0) {
    const head = s.up[0]!;
    const n = conn.write(head);
    if (n < 0) return;
    if (n < head.byteLength) {
      s.up[0] = head.subarray(n);
      return;
    }
    s.up.shift();
  }
  if (ws.isPaused) ws.resume();
}

/** Sends VNC bytes to the browser, holding them if the websocket dropped them. */
function sendDown(ws: SessionSocket, bytes: Uint8Array): void {
  const s = ws.data;
  if (s.down.length > 0) {
    s.down.push(bytes.slice());
    pauseTarget(s);
    return;
  }
  const r = ws.sendBinary(bytes);
  if (r === 0) {
    s.down.push(bytes.slice());
    pauseTarget(s);
  } else if (r === -1) {
    pauseTarget(s);
  }
}

function pauseTarget(s: SessionState): void {
  if (!s.targetPaused && s.conn) {
    s.targetPaused = true;
    s.conn.pause();
  }
}

function onTargetData(ws: SessionSocket, bytes: Uint8Array): void {
  const s = ws.data;
  if (s.ended) return;
  s.bytesDown += bytes.byteLength;
  s.recorder?.write(DIRECTION_DOWN, bytes);
  if (s.sniff && !offerAcceptable(s, bytes)) {
    closeWs(ws, CLOSE.INTERNAL, "Ticket says plain VNC but the server requires TLS", "protocol_error");
    s.conn?.end();
    return;
  }
  sendDown(ws, bytes);
}

/** Looks at a plain target's opening (copying at most SNIFF_LIMIT bytes); false = refuse. */
function offerAcceptable(s: SessionState, bytes: Uint8Array): boolean {
  const prev = s.sniff!;
  const next = new Uint8Array(Math.min(prev.length + bytes.length, SNIFF_LIMIT));
  next.set(prev);
  next.set(bytes.subarray(0, next.length - prev.length), prev.length);
  const offer = readSecurityOffer(next);
  if (offer.kind === "need-more" && next.length < SNIFF_LIMIT) {
    s.sniff = next;
    return true;
  }
  s.sniff = null;
  return !(offer.kind === "types" && requiresTls(offer.types));
}

/** websocket `drain`: the browser caught up; send what was held, then let the target flow. */
export function onDrain(ws: SessionSocket): void {
  const s = ws.data;
  while (s.down.length > 0) {
    const r = ws.sendBinary(s.down[0]!);
    if (r === 0) return; // still full: wait for the next drain
    s.down.shift();
    if (r === -1) return;
  }
  if (s.targetGone) {
    closeWs(ws, CLOSE.TARGET_CLOSED, "Target closed", "target_closed");
    return;
  }
  if (s.targetPaused && s.conn) {
    s.targetPaused = false;
    s.conn.resume();
  }
}

function onTargetClose(ws: SessionSocket, error?: string): void {
  const s = ws.data;
  if (s.targetGone) return;
  s.targetGone = true;
  if (s.ended) return;
  if (error) {
    closeWs(ws, CLOSE.INTERNAL, error, "target_error");
  } else if (s.down.length === 0) {
    // Everything the target sent has been handed to the websocket; Bun flushes it before the close frame.
    closeWs(ws, CLOSE.TARGET_CLOSED, "Target closed", "target_closed");
  }
  // else: onDrain closes once the held bytes are out.
}

/** websocket `close`: the browser left (or we closed): end the target, log the session. */
export function onClose(ws: SessionSocket, code: number, reason: string): void {
  const s = ws.data;
  if (s.ended) return;
  s.ended = true;
  clearTimeout(s.firstByteTimer);
  // A browser that vanished (1006) or left bytes unsent: reset the VNC side rather than leave
  // the kernel holding a socket full of data for a target that may never read it.
  if (code === 1006 || s.up.length > 0) s.conn?.terminate();
  else s.conn?.end();
  s.recorder?.close();
  s.up.length = 0;
  s.down.length = 0;
  if (code === CLOSE.TOO_BIG && !s.closeReason) {
    // Bun closed it: a browser message over the size cap.
    s.closeReason = "1009 Message too big";
    s.outcome = "protocol_error";
  }
  s.outcome ??= "client_closed";
  const closeReason = s.closeReason || `${code}${reason ? ` ${printable(reason, 60)}` : ""} by client`;
  const seconds = (performance.now() - s.startedAt) / 1000;
  logEvent(
    log,
    "info",
    `close ${s.id} client=${s.client} target=${s.targetLabel} ticket=${s.ticketHash} up=${s.bytesUp} down=${s.bytesDown} duration=${seconds.toFixed(1)}s reason="${closeReason}"`,
    {
      event: "session_close",
      session: s.id,
      client: s.client,
      target: s.targetLabel,
      ticket: s.ticketHash,
      bytes_up: s.bytesUp,
      bytes_down: s.bytesDown,
      duration_s: Number(seconds.toFixed(3)),
      outcome: s.outcome,
      reason: closeReason,
    },
  );
  s.onEnd?.(s);
}
