/**
 * The one listener: HTTPS for the console page and websocket upgrades for the relay.
 * There is no plaintext listener; a plaintext client just fails the TLS handshake.
 */
import type { Server } from "bun";
import { constants } from "node:crypto";
import type { ServerConfig } from "./config.ts";
import { decideUpgrade, targetLabel } from "./upgrade.ts";
import { securityHeaders } from "./headers.ts";
import { serveAsset } from "./assets.ts";
import { compileOriginCheck } from "../policy/origin.ts";
import { connectPlain, type ConnectRequest, type ConnectedTarget } from "../relay/target.ts";
import { connectVencrypt } from "../relay/vencrypt.ts";
import { newSessionState, onClose, onDrain, onMessage, onOpen, type SessionState } from "../relay/session.ts";
import { tagged } from "../log.ts";

const log = tagged("http");

/** Largest websocket message accepted from a browser (noVNC sends small input events). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface RunningServer {
  port: number;
  /** https://host:port of the listener, for messages and tests. */
  url: string;
  server: Server<SessionState>;
  /** Sessions currently open. */
  sessions(): number;
  stop(): Promise<void>;
}

/** SSL_OP_* bits that turn off everything below the minimum version. */
function secureOptionsFor(min: ServerConfig["tlsMin"]): number {
  let opts = constants.SSL_OP_NO_SSLv2 | constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  if (min === "1.3") opts |= constants.SSL_OP_NO_TLSv1_2;
  return opts;
}

function refuse(status: number, reason: string): Response {
  return new Response(`${reason}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...securityHeaders([]) },
  });
}

let sessionCounter = 0;

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const checkOrigin = compileOriginCheck([...config.origins, ...config.engineOrigins], {
    requireOrigin: config.requireOrigin,
  });
  let open = 0;

  const connectFor = (sslTarget: boolean) =>
    sslTarget ? (req: ConnectRequest): Promise<ConnectedTarget> => connectVencrypt(req, config.vnc) : connectPlain;

  const server = Bun.serve<SessionState>({
    hostname: config.hostname,
    port: config.port,
    tls: {
      cert: config.identity.certPem,
      key: config.identity.keyPem,
      secureOptions: secureOptionsFor(config.tlsMin),
      ...(config.ciphers ? { ciphers: config.ciphers } : {}),
    },
    async fetch(req, srv) {
      const url = new URL(req.url);
      const client = srv.requestIP(req)?.address ?? "unknown";
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const d = await decideUpgrade(req, config, checkOrigin, new Date());
        if (!d.ok) {
          log.warn(`refused ${d.status} client=${client}${d.ticketHash ? ` ticket=${d.ticketHash}` : ""}: ${d.reason}`);
          return refuse(d.status, d.reason);
        }
        const id = `s${(++sessionCounter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
        const data = newSessionState({
          id,
          client,
          ticketHash: d.ticketHash,
          targetLabel: targetLabel(d.target.host, d.target.port),
          connectRequest: {
            address: d.target.address,
            port: d.target.port,
            ticketHost: d.target.host,
            timeoutMs: config.connectTimeoutSeconds * 1000,
          },
          connect: connectFor(d.target.sslTarget),
          checkPlainOffer: !d.target.sslTarget,
          onEnd: () => {
            open--;
          },
        });
        const headers = d.protocol ? { "Sec-WebSocket-Protocol": d.protocol } : undefined;
        if (srv.upgrade(req, { data, headers })) {
          open++;
          return undefined;
        }
        return refuse(400, "websocket upgrade failed");
      }
      if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, "method not allowed");
      const extra = config.extraRoutes?.[url.pathname];
      if (extra && !url.pathname.includes("%")) return extra(req);
      return serveAsset(req, url.pathname, { engineOrigins: config.engineOrigins }) ?? refuse(404, "not found");
    },
    websocket: {
      maxPayloadLength: MAX_MESSAGE_BYTES,
      idleTimeout: 120,
      sendPings: true,
      perMessageDeflate: false,
      open: (ws) => onOpen(ws),
      message: (ws, msg) => onMessage(ws, msg),
      drain: (ws) => onDrain(ws),
      close: (ws, code, reason) => onClose(ws, code, reason),
    },
    error(err) {
      log.error(`internal error: ${err.message}`);
      return refuse(500, "internal error");
    },
  });

  const port = server.port!;
  const shownHost = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  return {
    port,
    url: `https://${shownHost === "0.0.0.0" || shownHost === "[::]" ? "localhost" : shownHost}:${port}`,
    server,
    sessions: () => open,
    async stop() {
      await server.stop(true);
    },
  };
}
