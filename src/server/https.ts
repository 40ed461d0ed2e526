/**
 * The one listener: HTTPS for the console page, /healthz, /metrics, and websocket upgrades for
 * the relay. There is no plaintext listener; a plaintext client just fails the TLS handshake.
 *
 * Reload (new certificate, key or engine certificate) starts a second listener on the same port
 * (SO_REUSEPORT) with the new TLS settings, steers new connections to it (reuseport.ts) and,
 * RETIRE_AFTER_MS later, stops the old one from accepting; connections the old one already
 * holds (also those still in their handshake) and sessions on it keep flowing. The port is
 * still ours alone: start-up fails when anything else holds it, and neither start-up nor a
 * reload serves next to a foreign listener (port-owner.ts). Once draining, no reload opens a listener again.
 */
import type { Server } from "bun";
import { constants } from "node:crypto";
import { hostname } from "node:os";
import type { ServerConfig } from "./config.ts";
import { decideUpgrade, targetLabel, type UpgradeTarget } from "./upgrade.ts";
import { securityHeaders } from "./headers.ts";
import { serveAsset } from "./assets.ts";
import { SessionRegistry, perIpKey, singleUseExpiry } from "./limits.ts";
import { RefusalLogLimiter } from "./refusal-log.ts";
import { addressInUse, foreignListeners, ownListenerFds } from "./port-owner.ts";
import { steerGroup, unsteerGroup } from "./reuseport.ts";
import { LocalStore, type SessionStore } from "../store/session-store.ts";
import { RedisStore } from "../store/redis-store.ts";
import { Metrics } from "./metrics.ts";
import { clientAddress, canonicalPeer } from "./client-ip.ts";
import type { ConnectRequest, ConnectedTarget } from "../relay/target.ts";
import { connectPlain } from "../relay/tcp-target.ts";
import { connectVencrypt } from "../relay/vencrypt.ts";
import { connectWebsocket } from "../relay/websocket-target.ts";
import { Recorder, RecordingsBudget } from "../relay/recorder.ts";
import { CLOSE, closeWs, newSessionState, onClose, onDrain, onMessage, onOpen, type SessionSocket, type SessionState } from "../relay/bun-socket.ts";
import { tagged, logEvent } from "../log.ts";
import { VERSION } from "../version.ts";
import { DEFAULT_TLS12_CIPHERS } from "../tls/ciphers.ts";

const log = tagged("http");

export interface RunningServer {
  port: number;
  /** https://host:port of the listener, for messages and tests. */
  url: string;
  /** Sessions currently open. */
  sessions(): number;
  /** Listeners held: the current one plus those a reload replaced that still hold connections. */
  listeners(): number;
  /** Swaps in new TLS identity / engine key / policy; open sessions are untouched. */
  reload(next: ServerConfig): void;
  /** Stops accepting, waits up to `timeoutMs` for sessions to end, then closes the rest with 1001. */
  drain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** SSL_OP_* bits that turn off everything below the minimum version. */
function secureOptionsFor(min: ServerConfig["tlsMin"]): number {
  let opts = constants.SSL_OP_NO_SSLv2 | constants.SSL_OP_NO_SSLv3 | constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  if (min === "1.3") opts |= constants.SSL_OP_NO_TLSv1_2;
  return opts;
}

function textResponse(status: number, body: string, type = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { "content-type": type, ...securityHeaders([]) } });
}

const refuse = (status: number, reason: string) => textResponse(status, `${reason}\n`);

/**
 * A refused upgrade also ends the connection: a client pipelining bad upgrades on one TLS
 * connection gets one answer, not one per request.
 */
function refuseUpgrade(status: number, reason: string): Response {
  const res = refuse(status, reason);
  res.headers.set("connection", "close");
  return res;
}

let sessionCounter = 0;

/** How often the socket table is checked for a foreign listener on our port. */
const INTRUDER_CHECK_SECONDS = 10;

/**
 * How long a retired listener keeps its kernel queue after new connections go elsewhere. Bun
 * defers accept until data arrives: a TLS client sends its ClientHello one round trip after the
 * SYN, and one that sends nothing is handed over anyway when the kernel's deferral ends (about
 * 1 s, measured). 3 s covers both with round trips of up to 2 s.
 */
const RETIRE_AFTER_MS = 3000;

export async function startServer(initial: ServerConfig): Promise<RunningServer> {
  let config = initial;
  const registry = new SessionRegistry(config.limits);
  const metrics = new Metrics();
  const sockets = new Map<SessionState, SessionSocket>();
  const refusalLog = new RefusalLogLimiter(config.refusalLogLimit);
  let draining = false;
  // Replaced by the Redis store once the port (part of the default instance id) is known.
  let store: SessionStore = new LocalStore(registry);

  /** The connector a ticket's target needs: websocket (KubeVirt `path`), VeNCrypt, or plain TCP. */
  const connectFor = (t: UpgradeTarget): ((req: ConnectRequest) => Promise<ConnectedTarget>) => {
    const { path, token } = t;
    if (path !== null) return (req) => connectWebsocket(req, { path, token }, config.kubevirt);
    return t.sslTarget ? (req) => connectVencrypt(req, config.vnc) : connectPlain;
  };

  /** One refusal line, unless this client already had its share this minute (see RefusalLogLimiter). */
  function logRefusal(client: string, status: number, ticket: string | null, why: string): void {
    if (!refusalLog.allow(perIpKey(client, config.limits.ipv6Prefix), Date.now())) return;
    logEvent(log, "warn", `refused ${status} client=${client}${ticket ? ` ticket=${ticket}` : ""}: ${why}`, {
      event: "upgrade_refused",
      status,
      client,
      ticket,
      reason: why,
    });
  }

  async function upgrade(req: Request, srv: Server<SessionState>, client: string): Promise<Response | undefined> {
    const t0 = performance.now();
    if (draining) return refuseUpgrade(503, "server shutting down");
    const d = await decideUpgrade(req, config, config.client.checkOrigin, new Date());
    metrics.handshake.observe((performance.now() - t0) / 1000);
    if (!d.ok) {
      metrics.refused(d.code);
      logRefusal(client, d.status, d.ticketHash ?? null, d.detail ? `${d.reason} (${d.detail})` : d.reason);
      return refuseUpgrade(d.status, d.reason);
    }
    const id = `s${(++sessionCounter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const data = newSessionState({
      id,
      client,
      ticketHash: d.ticketHash,
      ticketId: d.ticketId,
      targetLabel: targetLabel(d.target.host, d.target.port),
      connectRequest: {
        address: d.target.address,
        port: d.target.port,
        ticketHost: d.target.host,
        timeoutMs: config.connectTimeoutSeconds * 1000,
      },
      connect: connectFor(d.target),
      // ssl_target is not used on the websocket path (as oVirt): its RFB is checked like plain.
      checkPlainOffer: !d.target.sslTarget || d.target.path !== null,
      viewOnly: d.target.viewOnly || config.viewOnly,
      onInputDropped: (count) => (metrics.inputDropped += count),
      onConnected: (seconds) => metrics.connect.observe(seconds),
      onEnd: (s) => {
        // Ended without its websocket ever opening: the ticket opened nothing, so it is not used up.
        if (sockets.delete(s)) store.remove(s);
        else store.abandon(s);
        metrics.closed(s.outcome ?? "client_closed", s.bytesUp, s.bytesDown);
      },
    });
    const usedUntil = d.validTo ? singleUseExpiry(d.validTo.getTime(), config.clockSkewSeconds) : null;
    const capped = await store.admit(data, usedUntil, Date.now());
    if (capped) {
      metrics.refused(capped.code);
      logRefusal(client, capped.status, d.ticketHash, capped.reason);
      return refuseUpgrade(capped.status, capped.reason);
    }
    const headers = d.protocol ? { "Sec-WebSocket-Protocol": d.protocol } : undefined;
    // SIGTERM may have come while the ticket was checked or the store admitted it (a slow or
    // frozen store takes up to its deadline): a drain opens no new session.
    if (draining) {
      store.abandon(data);
      return refuseUpgrade(503, "server shutting down");
    }
    // The client may have left while the store admitted it; then nothing opened: give the slot
    // and a single-use claim back (only a session that opened uses a ticket up).
    if (req.signal.aborted || !srv.upgrade(req, { data, headers })) {
      store.abandon(data);
      return refuseUpgrade(400, "websocket upgrade failed");
    }
    metrics.sessionsOpened++;
    return undefined;
  }

  /**
   * A recorder for a session that was just admitted (never before the upgrade succeeded: a
   * failed upgrade must not leave a file), or null when recording is off, the folder is over
   * --record-max-total (warned, counted) or the file cannot be created (warned).
   */
  let budget: RecordingsBudget | null = null;
  function openRecorder(s: SessionState): Recorder | null {
    const dir = config.recordDir;
    if (!dir) return null;
    if (budget?.dir !== dir) budget = new RecordingsBudget(dir); // first use, or a reload named another folder
    try {
      const total = budget.used();
      if (total >= config.recordMaxTotal) {
        metrics.recordingsSkipped++;
        log.warn(`${s.id}: not recorded: recordings in ${dir} take ${total} bytes, --record-max-total is ${config.recordMaxTotal}`);
        return null;
      }
      const header = { session: s.id, client: s.client, target: s.targetLabel, ticket: s.ticketHash, started: new Date().toISOString() };
      return new Recorder(dir, s.id, header, config.recordMaxBytes, budget);
    } catch (err) {
      log.warn(`${s.id}: cannot record session in ${dir}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
      return null;
    }
  }

  function health(): Response {
    const body = {
      status: draining ? "draining" : "up",
      version: VERSION,
      sessions: registry.open.size,
      certExpires: config.identity.notAfter.toISOString(),
      ...(store.status() ? { store: store.status() } : {}),
    };
    return textResponse(200, JSON.stringify(body) + "\n", "application/json");
  }

  function listen(cfg: ServerConfig, port: number): Server<SessionState> {
    return Bun.serve<SessionState>({
      hostname: cfg.hostname,
      port,
      reusePort: true,
      // Bun closes a connection that has not completed its request ~10 s after it opened (also a
      // slowloris sending a byte a second, measured); this is the idle time between requests.
      idleTimeout: 10,
      tls: {
        cert: cfg.identity.certPem,
        key: cfg.identity.keyPem,
        secureOptions: secureOptionsFor(cfg.tlsMin),
        ciphers: cfg.ciphers ?? DEFAULT_TLS12_CIPHERS,
      },
      async fetch(req, srv) {
        const peer = canonicalPeer(srv.requestIP(req)?.address ?? "unknown");
        const client = clientAddress(peer, req.headers.get("x-forwarded-for"), config.client.isTrustedProxy);
        if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return upgrade(req, srv, client);
        if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, "method not allowed");
        const url = new URL(req.url);
        if (url.pathname === "/healthz" || url.pathname === "/metrics") {
          if (!config.client.mayReadMetrics(peer)) return refuse(403, "forbidden");
          if (url.pathname === "/healthz") return health();
          return textResponse(200, metrics.render(registry.open.size, config.identity.notAfter, Date.now(), store.status()), "text/plain; version=0.0.4; charset=utf-8");
        }
        const extra = config.extraRoutes?.[url.pathname];
        if (extra && !req.url.includes("%")) return extra(req);
        return serveAsset(req, url.pathname, { engineOrigins: config.engineOrigins }) ?? refuse(404, "not found");
      },
      websocket: {
        // Bun drops a larger message without a close frame; between the cap and twice the cap the
        // relay refuses it itself with a proper 1009 (see onMessage).
        maxPayloadLength: cfg.maxMessageBytes * 2,
        // Our own idle limit (no bytes either way) is in the sweep; this only reaps dead peers.
        idleTimeout: 120,
        sendPings: true,
        perMessageDeflate: false,
        open(ws) {
          sockets.set(ws.data, ws);
          ws.data.info.recorder = openRecorder(ws.data);
          void onOpen(ws);
        },
        message: (ws, msg) => {
          if (msg.length > cfg.maxMessageBytes) closeWs(ws, CLOSE.TOO_BIG, "Message too big", "protocol_error");
          else onMessage(ws, msg);
        },
        drain: (ws) => onDrain(ws),
        close: (ws, code, reason) => onClose(ws, code, reason),
      },
      error(err) {
        log.error(`internal error: ${err.message}`);
        return refuse(500, "internal error");
      },
    });
  }

  /** Throws EADDRINUSE (closing `fresh`) when a socket of another process listens on our port. */
  function assertPortOurs(port: number, fresh?: Server<SessionState>): void {
    if (foreignListeners(config.hostname, port).length === 0) return;
    void fresh?.stop(true);
    throw addressInUse(config.hostname, port);
  }

  if (config.port !== 0) {
    // A plain bind (no SO_REUSEPORT) fails when anyone holds the port, also a SO_REUSEPORT group
    // a later bind could otherwise join; only then is our own shareable listener opened.
    const probe = Bun.listen({ hostname: config.hostname, port: config.port, socket: { data() {} } });
    probe.stop(true);
  }
  let server = listen(config, config.port);
  const port = server.port!;
  // Someone may have bound between the probe and our listener.
  assertPortOurs(port, server);
  /**
   * Listeners replaced by a reload that may still hold connections; let go once they hold none
   * (the sweep), or every reload would keep a server and its TLS context for the process's life.
   */
  const retired = new Set<Server<SessionState>>();
  /**
   * Our listeners on the port in the kernel's order for its SO_REUSEPORT group: a joining socket
   * is appended; a leaving one's place is taken by the last (reuseport.ts). The steering program
   * names the newest listener by its index here.
   */
  const group: Server<SessionState>[] = [server];
  /** Listeners a reload is retiring (new connections already go to the newest), with their timers. */
  const retiring = new Map<Server<SessionState>, ReturnType<typeof setTimeout>>();
  let steered = false;
  let steeringWarned = false;

  /** Applies `f` to each of our listening sockets on the port; false (one warning per process) if it failed. */
  function onOwnListeners(what: string, f: (fd: number) => void): boolean {
    try {
      const fds = ownListenerFds(config.hostname, port);
      if (fds.length === 0) throw new Error("no listening socket of ours found in /proc/net");
      for (const fd of fds) f(fd);
      return true;
    } catch (err) {
      if (!steeringWarned) {
        steeringWarned = true;
        log.warn(
          `reload: cannot ${what} (${err instanceof Error ? err.message : String(err)}); a client still in its TCP handshake when a reload retires a listener may see a reset unless the sysctl net.ipv4.tcp_migrate_req is 1`,
        );
      }
      return false;
    }
  }

  /**
   * Points the group's new connections at the newest listener while older ones are being retired;
   * with one listener left (or a foreign socket in the group, which must not get everything),
   * back to the kernel's hash. False when older listeners remain but are not steered around
   * (it failed, or a foreign socket is there): the caller then retires them at once.
   */
  function steer(): boolean {
    if (group.length > 1 && foreignListeners(config.hostname, port).length === 0) {
      const newest = group.indexOf(server);
      steered = onOwnListeners("steer new connections to the new listener", (fd) => steerGroup(fd, newest));
      return steered;
    }
    if (steered) onOwnListeners("stop steering connections", unsteerGroup);
    steered = false;
    return group.length === 1;
  }

  /** Stops `old` from accepting now; what it already accepted keeps flowing. */
  function retire(old: Server<SessionState>): void {
    clearTimeout(retiring.get(old));
    retiring.delete(old);
    void old.stop(false);
    const i = group.indexOf(old);
    if (i >= 0) {
      group[i] = group[group.length - 1]!;
      group.pop();
    }
    steer();
  }

  /** Retires every listener but the current one at once (drain, stop). */
  function retireAll(): void {
    for (const old of [...retiring.keys()]) retire(old);
  }

  if (config.store) {
    const instanceId = config.store.instanceId ?? `${hostname()}:${port}`;
    const fleet = new RedisStore(registry, { ...config.store, instanceId }, {
      kill: (sessionId) => killSession(sessionId, instanceId),
      observe: (seconds) => metrics.store.observe(seconds),
    });
    store = fleet;
    await fleet.start();
  }

  /** `sessions kill`: closes the session with 1008 and an audit line naming why. */
  function killSession(sessionId: string, instanceId: string): boolean {
    for (const [s, ws] of sockets) {
      if (s.id !== sessionId) continue;
      logEvent(log, "warn", `${s.id} closed by administrator (sessions kill) client=${s.client} ticket=${s.ticketHash} instance=${instanceId}`, {
        event: "session_killed",
        session: s.id,
        client: s.client,
        ticket: s.ticketHash,
        instance: instanceId,
        reason: "closed by administrator",
      });
      closeWs(ws, CLOSE.POLICY, "Closed by administrator", "admin_kill");
      return true;
    }
    return false;
  }

  // A socket of another process can still join our SO_REUSEPORT group between reloads: say so
  // (once per socket) rather than let it take a share of connections unnoticed.
  const intruders = new Set<number>();
  let ticks = 0;
  const sweeper = setInterval(() => {
    if (++ticks % INTRUDER_CHECK_SECONDS === 0 && !draining) {
      for (const s of foreignListeners(config.hostname, port)) {
        if (intruders.has(s.inode)) continue;
        intruders.add(s.inode);
        log.error(`another process listens on ${s.address}:${port} (socket inode ${s.inode}) and takes a share of new connections: stop it`);
      }
    }
    for (const { client, suppressed } of refusalLog.flush(Date.now())) {
      logEvent(log, "warn", `refused upgrades from ${client}: ${suppressed} more in the last minute, not logged one by one`, {
        event: "upgrade_refusals_suppressed",
        client,
        suppressed,
      });
    }
    for (const old of retired) {
      if (retiring.has(old) || old.pendingRequests > 0 || old.pendingWebSockets > 0) continue;
      retired.delete(old);
      void old.stop(true); // idle keep-alive connections only: nothing is in flight on them
    }
    for (const { session, reason, outcome } of registry.sweep(Date.now())) {
      const ws = sockets.get(session as SessionState);
      if (ws) closeWs(ws, CLOSE.POLICY, reason, outcome);
    }
  }, 1000);
  sweeper.unref();

  const shownHost = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  return {
    port,
    listeners: () => 1 + retired.size,
    url: `https://${shownHost === "0.0.0.0" || shownHost === "[::]" ? "localhost" : shownHost}:${port}`,
    sessions: () => registry.open.size,
    reload(next) {
      // After SIGTERM no listener may open again (a SIGHUP or file change arriving during the drain).
      if (draining) throw new Error("shutting down: not reloading");
      assertPortOurs(port);
      const fresh = listen(next, port); // throws (old listener untouched) if the new TLS is unusable
      assertPortOurs(port, fresh);
      config = next;
      registry.limits = next.limits;
      refusalLog.perWindow = next.refusalLogLimit;
      const old = server;
      server = fresh;
      retired.add(old);
      group.push(fresh);
      // A listener retired while it still gets new connections would reset those in its queue.
      retiring.set(old, setTimeout(() => retire(old), RETIRE_AFTER_MS));
      if (!steer()) retireAll();
    },
    async drain(timeoutMs) {
      draining = true;
      retireAll();
      for (const s of [server, ...retired]) void s.stop(false);
      const deadline = Date.now() + timeoutMs;
      while (registry.open.size > 0 && Date.now() < deadline) await Bun.sleep(100);
      for (const ws of sockets.values()) closeWs(ws, CLOSE.GOING_AWAY, "Server shutting down", "shutdown");
      await Bun.sleep(50);
    },
    async stop() {
      clearInterval(sweeper);
      retireAll();
      for (const s of [server, ...retired]) await s.stop(true);
      await store.stop();
    },
  };
}
