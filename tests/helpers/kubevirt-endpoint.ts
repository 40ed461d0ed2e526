/**
 * A stand-in for KubeVirt's VNC subresource on the Kubernetes API: a TLS websocket endpoint
 * (Bun.serve, 127.0.0.1, port 0) that accepts an upgrade only with the subprotocol
 * `base64url.bearer.authorization.k8s.io.<token>` for its token (401 otherwise), answers
 * `plain.kubevirt.io`, and relays binary messages to a TCP VNC server (a real QEMU), with
 * backpressure both ways. It records what it saw, so a test can tell the token never arrived.
 */
import type { ServerWebSocket } from "bun";
import { newRelayConn, relayHandlers, type RelayConn } from "../../scripts/bench/targets.ts";

export interface KubevirtEndpoint {
  port: number;
  /** Upgrade requests that reached HTTP (none when TLS failed first). */
  requests: number;
  /** Subprotocol headers received, verbatim (tests look for the token in them). */
  protocolHeaders: string[];
  paths: string[];
  /** Closes every open websocket with 1000 (the VM's console going away). */
  closeAll(): void;
  stop(): Promise<void>;
}

export async function startKubevirtEndpoint(opts: { certPem: string; keyPem: string; token: string; vncPort: number }): Promise<KubevirtEndpoint> {
  const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(opts.token).toString("base64url")}`;
  const state = { requests: 0, protocolHeaders: [] as string[], paths: [] as string[] };
  const open = new Set<ServerWebSocket<RelayConn>>();
  // The bench's minimal relay (backpressure both ways), with the open sockets tracked for closeAll.
  const relay = relayHandlers(opts.vncPort);
  const server = Bun.serve<RelayConn>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: opts.certPem, key: opts.keyPem },
    fetch(req, srv) {
      state.requests++;
      const offered = req.headers.get("sec-websocket-protocol") ?? "";
      state.protocolHeaders.push(offered);
      state.paths.push(new URL(req.url).pathname);
      const list = offered.split(",").map((p) => p.trim());
      if (!list.includes(bearer)) return new Response("Unauthorized\n", { status: 401 });
      if (!list.includes("plain.kubevirt.io")) return new Response("subprotocol\n", { status: 400 });
      if (srv.upgrade(req, { data: newRelayConn(), headers: { "Sec-WebSocket-Protocol": "plain.kubevirt.io" } })) return undefined;
      return new Response("upgrade failed\n", { status: 400 });
    },
    websocket: {
      ...relay,
      perMessageDeflate: false,
      open(ws) {
        open.add(ws);
        return relay.open!(ws);
      },
      close(ws, code, reason) {
        open.delete(ws);
        return relay.close!(ws, code, reason);
      },
    },
  });
  return {
    port: server.port!,
    get requests() {
      return state.requests;
    },
    protocolHeaders: state.protocolHeaders,
    paths: state.paths,
    closeAll: () => {
      for (const ws of open) ws.close(1000, "console closed");
    },
    stop: () => server.stop(true),
  };
}
