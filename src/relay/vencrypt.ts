/**
 * The VNC side of a session when the ticket says `ssl_target`: the proxy itself runs the RFB
 * opening with the server (VeNCrypt 0.2, subtype 261 X509VNC, via the pure state machine in
 * src/rfb/vencrypt.ts), starts TLS as a client on the same TCP socket, and hands the relay a
 * TargetConn over the TLS stream plus what the browser must see first: a plain RFB 3.8 server
 * that offers only VNC authentication. The challenge/response then runs end to end inside TLS.
 *
 * We resolve only once the first bytes arrive inside TLS (the server's VNC challenge): in TLS 1.3
 * a server refuses a missing or bad client certificate only after the client's side of the
 * handshake is done, and this way that refusal is a connect failure with a reason, not a session
 * that opens and dies. Those first bytes are delivered to `events.data` on the next event-loop
 * turn, after the caller has sent `clientPreface` (the relay does so right after the await).
 */
import type { Socket } from "bun";
import { VencryptHandshake, type VencryptAction } from "../rfb/vencrypt.ts";
import { RFB_VERSION_3_8, SECURITY_TYPE_VNC_AUTH } from "../rfb/constants.ts";
import { ConnectAttempt } from "./connect-attempt.ts";
import { certNamesHost, shortError } from "./peer-cert.ts";
import type { ConnectRequest, ConnectedTarget, TargetConn } from "./target.ts";

/** How the proxy checks the VNC server's TLS certificate and what it presents itself. */
export interface VncTlsOptions {
  /** PEM of the CA the server certificate must chain to; null = accept any (as upstream). */
  caPem: string | null;
  /** Also require the certificate to name the ticket's host (IP or DNS SAN). */
  verifyName: boolean;
  /** Client certificate + key (PEM) for QEMU with `verify-peer=on`; both or neither. */
  clientCertPem: string | null;
  clientKeyPem: string | null;
}

const encoder = new TextEncoder();

/**
 * Connects to a VeNCrypt/X509VNC VNC server and terminates its TLS.
 *
 * @returns the TLS stream as a TargetConn, with the preface the browser must get
 *   ("RFB 003.008\n" + one security type, VNC auth) and the answer it must give, swallowed
 *   ("RFB 003.008\n" + "\x02").
 * @throws TargetError with a short reason naming the failed step.
 */
export async function connectVencrypt(req: ConnectRequest, vnc: VncTlsOptions): Promise<ConnectedTarget> {
  const { events } = req;
  const hs = new VencryptHandshake();
  // rfb: plaintext handshake; tls: TLS handshake running; first: waiting for the first TLS
  // bytes; open: relaying; over: failed before open.
  let phase: "rfb" | "tls" | "first" | "open" | "over" = "rfb";
  let raw: Socket<undefined> | undefined;
  let tls: Socket<undefined> | undefined;
  /** TLS bytes that arrived before the caller could have sent the preface. */
  let pending: Uint8Array[] | null = [];
  let closedEarly: { error?: string } | null = null;
  let ended = false;

  const attempt = new ConnectAttempt<ConnectedTarget>(
    req.timeoutMs,
    () => {
      const where = phase === "rfb" ? hs.step : phase === "tls" ? "TLS handshake" : "VNC authentication start";
      return raw ? `VNC server handshake timeout (${where})` : "VNC server connect timeout";
    },
    () => {
      phase = "over";
      try {
        tls?.end();
      } catch {}
      raw?.end();
    },
  );
  const fail = (reason: string): void => attempt.fail(reason);

  const conn: TargetConn = {
    write: (bytes) => (ended || !tls ? -1 : tls.write(bytes)),
    pause: () => tls?.pause(),
    resume: () => tls?.resume(),
    end: () => {
      if (ended) return;
      ended = true;
      try {
        tls?.end();
      } catch {}
    },
    terminate: () => {
      ended = true;
      try {
        tls?.terminate();
        raw?.terminate();
      } catch {}
    },
  };

  const open = (): void => {
    phase = "open";
    attempt.open({
      conn,
      // We told the server 3.8; the browser must speak the same version, so that is what it sees.
      clientPreface: encoder.encode(`${RFB_VERSION_3_8}\x01${String.fromCharCode(SECURITY_TYPE_VNC_AUTH)}`),
      clientExpect: encoder.encode(`${RFB_VERSION_3_8}${String.fromCharCode(SECURITY_TYPE_VNC_AUTH)}`),
    });
    // Next turn: the caller's continuation (send the preface) runs first, as a microtask.
    setTimeout(() => {
      const held = pending ?? [];
      pending = null;
      for (const chunk of held) events.data(chunk);
      if (closedEarly) events.close(closedEarly.error);
    }, 0);
  };

  const haveClientCert = vnc.clientCertPem !== null && vnc.clientKeyPem !== null;

  /** The TLS leg closed before the server's first bytes: name the likely cause. */
  const tlsClosed = (err: unknown): void => {
    if (err || phase === "tls") return fail(`VeNCrypt TLS failed: ${shortError(err)}`);
    // Our handshake finished, then the server hung up: in TLS 1.3 that is how a server refuses
    // the client certificate (QEMU verify-peer=on).
    fail(`VeNCrypt TLS failed: server closed the session (client certificate ${haveClientCert ? "refused" : "required"}?)`);
  };

  const startTls = (): void => {
    phase = "tls";
    const [, t] = raw!.upgradeTLS<undefined>({
      tls: {
        // Checked by hand in `handshake` below so that each failure gets its own reason.
        rejectUnauthorized: false,
        ...(vnc.caPem !== null ? { ca: vnc.caPem } : {}),
        ...(haveClientCert ? { cert: vnc.clientCertPem!, key: vnc.clientKeyPem! } : {}),
      },
      socket: {
        binaryType: "uint8array",
        handshake(s, _success, authorizationError) {
          if (phase !== "tls") return;
          if (vnc.caPem !== null && authorizationError) {
            const code = (authorizationError as { code?: string }).code;
            return fail(`VNC server certificate not trusted${code ? ` (${code})` : ""}`);
          }
          if (vnc.verifyName && !certNamesHost(s, req.ticketHost)) {
            return fail(`VNC server certificate does not name ${req.ticketHost.slice(0, 60)}`);
          }
          phase = "first";
        },
        data(_s, chunk) {
          if (phase === "first") {
            pending!.push(chunk);
            open();
          } else if (phase === "open") {
            if (pending) pending.push(chunk);
            else events.data(chunk);
          }
        },
        drain() {
          if (phase === "open") events.drain();
        },
        close(_s, err) {
          if (phase === "open") {
            const error = err ? "target connection failed" : undefined;
            if (pending) closedEarly = { error };
            else events.close(error);
          } else {
            tlsClosed(err);
          }
        },
        error(_s, err) {
          if (phase === "open") {
            const error = `target error: ${(err as { code?: string }).code ?? "TLS"}`;
            if (pending) closedEarly = { error };
            else events.close(error);
          } else {
            fail(`VeNCrypt TLS failed: ${shortError(err)}`);
          }
        },
        end(s) {
          s.end();
        },
      },
    });
    tls = t;
  };

  const run = (actions: VencryptAction[]): void => {
    for (const a of actions) {
      if (phase !== "rfb") return;
      switch (a.kind) {
        case "send": {
          // A few bytes on an idle socket: anything short means the server is gone.
          const n = raw!.write(a.bytes);
          if (n !== a.bytes.byteLength) return fail(`VNC server closed the connection during ${hs.step}`);
          break;
        }
        case "startTls":
          startTls();
          break;
        case "done":
          // The browser is told 3.8, the version we answered the server (see `open`).
          break;
        case "fail":
          return fail(a.reason);
      }
    }
  };

  // Raw-socket handlers stay attached after upgradeTLS and then see ciphertext and the shared
  // close (oven-sh/bun#26297): they act only during the plaintext phase.
  Bun.connect({
    hostname: req.address,
    port: req.port,
    socket: {
      binaryType: "uint8array",
      open(s) {
        raw = s;
        s.setNoDelay(true);
      },
      data(_s, chunk) {
        if (phase === "rfb") run(hs.feed(chunk));
      },
      close(_s, err) {
        if (phase === "rfb") fail(`VNC server closed the connection during ${hs.step}${err ? ` (${shortError(err)})` : ""}`);
        else if (phase === "tls" || phase === "first") tlsClosed(err);
      },
      error(_s, err) {
        if (phase === "rfb") fail(`VNC server error during ${hs.step}: ${shortError(err)}`);
      },
      end(s) {
        if (phase === "rfb") s.end();
      },
    },
  }).then(
    (s) => {
      if (phase === "over") s.end();
    },
    (err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      fail(code === "ECONNREFUSED" ? "VNC server refused the connection" : `VNC server unreachable${code ? ` (${code})` : ""}`);
    },
  );

  return attempt.result;
}
