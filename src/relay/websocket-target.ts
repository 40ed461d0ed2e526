/**
 * The VNC side of a session when the ticket names a websocket target (KubeVirt: `data.path`):
 * TLS to HOST:PORT, the server certificate verified (against `--kubevirt-ca`, else the system
 * trust store, and the ticket's host checked against it) BEFORE a single byte is written, then
 * the upgrade request for `path` with KubeVirt's subprotocols (the bearer token rides in one of
 * them), then RFB inside binary frames both ways. The framing is src/relay/stages/
 * websocket-client.ts; this file only does the socket I/O, so the token can never leave before
 * the certificate check (Bun's WebSocket client gives no such ordering guarantee, nor a drain).
 */
import type { Socket } from "bun";
import { isIP } from "node:net";
import { ConnectAttempt } from "./connect-attempt.ts";
import { certNamesHost, shortError } from "./peer-cert.ts";
import { WRITE_FULL } from "./pump.ts";
import type { ConnectRequest, ConnectedTarget, TargetConn } from "./target.ts";
import {
  FrameDecoder,
  OP_BINARY,
  OP_CLOSE,
  OP_PONG,
  closePayload,
  encodeFrame,
  kubevirtProtocols,
  newKey,
  readUpgradeAnswer,
  upgradeRequest,
  type FrameEvent,
} from "./stages/websocket-client.ts";

/** How websocket targets' certificates are checked. */
export interface WebsocketTlsOptions {
  /** PEM of the cluster CA; null = the system trust store. */
  caPem: string | null;
  /** oVirt's behaviour: accept any certificate (warned about at start). */
  insecure: boolean;
}

export interface WebsocketTarget {
  /** The websocket path from the ticket (starts with `/`). */
  path: string;
  /** Bearer token from the ticket; a secret, never logged or put in a reason. */
  token: string | null;
}

const PREFIX = "websocket target";

/**
 * Connects to a websocket target and completes the upgrade.
 * @throws TargetError whose message names the failed step
 */
export async function connectWebsocket(req: ConnectRequest, target: WebsocketTarget, tlsOpts: WebsocketTlsOptions): Promise<ConnectedTarget> {
  const { events } = req;
  // connect: TCP/TLS running; upgrade: request sent; open: relaying; over: failed before open.
  let phase: "connect" | "upgrade" | "open" | "over" = "connect";
  let sock: Socket<undefined> | undefined;
  const protocols = kubevirtProtocols(target.token);
  const { key, accept } = newKey();
  let answer = new Uint8Array(0);
  const decoder = new FrameDecoder();
  /** Unsent rest of a frame the socket took only partly; the relay waits for drain meanwhile. */
  let tail: Uint8Array | null = null;
  let closed = false;

  const attempt = new ConnectAttempt<ConnectedTarget>(
    req.timeoutMs,
    () => `${PREFIX} ${phase === "connect" ? (sock ? "handshake timeout (TLS)" : "connect timeout") : "handshake timeout (websocket upgrade)"}`,
    () => {
      phase = "over";
      sock?.terminate();
    },
  );
  const fail = (reason: string): void => attempt.fail(`${PREFIX} ${reason}`);

  /** The target is gone: tell the relay once. */
  const gone = (error?: string): void => {
    if (closed) return;
    closed = true;
    events.close(error);
  };

  const handle = (ev: FrameEvent): void => {
    switch (ev.kind) {
      case "data":
        events.data(ev.bytes);
        break;
      case "ping":
        sock?.write(encodeFrame(OP_PONG, ev.payload));
        break;
      case "close":
        // Answer the close, then hang up: to the browser this is "Target closed".
        sock?.write(encodeFrame(OP_CLOSE, closePayload(1000)));
        sock?.end();
        gone();
        break;
      case "fail":
        sock?.terminate();
        gone(`${PREFIX} protocol error: ${ev.reason}`);
        break;
    }
  };

  // Events may reach the relay before `result` resolves: the session holds those until it has
  // attached (src/relay/session.ts `early`), so frames are handled as they are decoded.
  const frames: FrameEvent[] = [];
  const onFrames = (bytes: Uint8Array): void => {
    decoder.feed(bytes, frames);
    for (const ev of frames) {
      if (closed) break;
      handle(ev);
    }
    frames.length = 0;
  };

  const conn: TargetConn = {
    write(bytes) {
      if (closed || !sock) return -1;
      if (tail) return 0;
      const frame = encodeFrame(OP_BINARY, bytes);
      const n = sock.write(frame);
      if (n < 0) return -1;
      if (n === frame.byteLength) return bytes.byteLength;
      tail = frame.subarray(n);
      return WRITE_FULL;
    },
    pause: () => sock?.pause(),
    resume: () => sock?.resume(),
    end() {
      if (closed) return;
      closed = true;
      try {
        sock?.write(encodeFrame(OP_CLOSE, closePayload(1000)));
        sock?.end();
      } catch {}
    },
    terminate() {
      closed = true;
      try {
        sock?.terminate();
      } catch {}
    },
  };

  const open = (rest: Uint8Array): void => {
    phase = "open";
    attempt.open({ conn });
    if (rest.byteLength > 0) onFrames(rest);
  };

  const bracketless = req.ticketHost.startsWith("[") ? req.ticketHost.slice(1, -1) : req.ticketHost;
  const hostHeader = `${isIP(bracketless) === 6 ? `[${bracketless}]` : bracketless}:${req.port}`;

  Bun.connect({
    hostname: req.address,
    port: req.port,
    tls: {
      // Checked by hand in `handshake`, before anything is written, so each failure has its reason.
      rejectUnauthorized: false,
      ...(tlsOpts.caPem !== null ? { ca: tlsOpts.caPem } : {}),
      ...(isIP(bracketless) ? {} : { serverName: bracketless }),
    },
    socket: {
      binaryType: "uint8array",
      open(s) {
        sock = s;
        s.setNoDelay(true);
      },
      handshake(s, _success, authorizationError) {
        if (phase !== "connect") return;
        sock = s;
        if (!tlsOpts.insecure) {
          if (authorizationError) {
            const code = (authorizationError as { code?: string }).code;
            return fail(`certificate not trusted${code ? ` (${code})` : ""}`);
          }
          if (!certNamesHost(s, bracketless)) return fail(`certificate does not name ${bracketless.slice(0, 60)}`);
        }
        phase = "upgrade";
        const request = Buffer.from(upgradeRequest(target.path, hostHeader, key, protocols), "latin1");
        if (s.write(request) !== request.byteLength) fail("closed during the websocket upgrade");
      },
      data(_s, chunk) {
        if (phase === "open") return onFrames(chunk);
        if (phase !== "upgrade") return;
        const joined = new Uint8Array(answer.length + chunk.length);
        joined.set(answer);
        joined.set(chunk, answer.length);
        answer = joined;
        const a = readUpgradeAnswer(answer, accept, protocols);
        if (a.kind === "fail") return fail(a.reason);
        if (a.kind === "ok") open(a.rest.slice());
      },
      drain(s) {
        if (phase !== "open") return;
        if (tail) {
          const n = s.write(tail);
          if (n < 0) return;
          if (n < tail.byteLength) {
            tail = tail.subarray(n);
            return;
          }
          tail = null;
        }
        events.drain();
      },
      close(_s, err) {
        if (phase === "open") gone(err ? "target connection failed" : undefined);
        else fail(phase === "connect" ? `TLS failed: ${shortError(err)}` : "closed during the websocket upgrade");
      },
      error(_s, err) {
        if (phase === "open") gone(`target error: ${(err as { code?: string }).code ?? "I/O"}`);
        else fail(`${phase === "connect" ? "TLS failed" : "error during the websocket upgrade"}: ${shortError(err)}`);
      },
      end(s) {
        s.end();
      },
    },
  }).then(
    (s) => {
      if (phase === "over") s.terminate();
    },
    (err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      fail(code === "ECONNREFUSED" ? "refused the connection" : `unreachable${code ? ` (${code})` : ""}`);
    },
  );

  return attempt.result;
}
