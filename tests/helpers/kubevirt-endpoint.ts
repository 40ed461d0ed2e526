/**
 * A stand-in for KubeVirt's VNC subresource on the Kubernetes API: a TLS websocket endpoint
 * (Bun.serve, 127.0.0.1, port 0) that accepts an upgrade only with the subprotocol
 * `base64url.bearer.authorization.k8s.io.<token>` for its token (401 otherwise), answers
 * `plain.kubevirt.io`, and relays binary messages to a TCP VNC server (a real QEMU), with
 * backpressure both ways. It records what it saw, so a test can tell the token never arrived.
 */
import type { ServerWebSocket, Socket } from "bun";

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

interface Conn {
  vnc: Socket<ServerWebSocket<Conn>> | null;
  held: Uint8Array[];
}

export async function startKubevirtEndpoint(opts: { certPem: string; keyPem: string; token: string; vncPort: number }): Promise<KubevirtEndpoint> {
  const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(opts.token).toString("base64url")}`;
  const state = { requests: 0, protocolHeaders: [] as string[], paths: [] as string[] };
  const open = new Set<ServerWebSocket<Conn>>();
  const server = Bun.serve<Conn>({
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
      if (srv.upgrade(req, { data: { vnc: null, held: [] }, headers: { "Sec-WebSocket-Protocol": "plain.kubevirt.io" } })) return undefined;
      return new Response("upgrade failed\n", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      async open(ws) {
        open.add(ws);
        ws.pause();
        try {
          ws.data.vnc = await Bun.connect<ServerWebSocket<Conn>>({
            hostname: "127.0.0.1",
            port: opts.vncPort,
            data: ws,
            socket: {
              binaryType: "uint8array",
              data(s, bytes) {
                if (ws.sendBinary(bytes) === -1 || ws.getBufferedAmount() > 1 << 20) s.pause();
              },
              drain() {
                const c = ws.data;
                while (c.held.length > 0) {
                  const head = c.held[0]!;
                  const n = c.vnc!.write(head);
                  if (n < head.byteLength) {
                    c.held[0] = head.subarray(n);
                    return;
                  }
                  c.held.shift();
                }
                ws.resume();
              },
              close() {
                ws.close(1000, "vnc closed");
              },
              error() {},
            },
          });
          ws.resume();
        } catch {
          ws.close(1011, "no vnc");
        }
      },
      message(ws, msg) {
        const c = ws.data;
        if (typeof msg === "string" || !c.vnc) return;
        if (c.held.length > 0) {
          c.held.push(msg.slice());
          return;
        }
        const n = c.vnc.write(msg);
        if (n < msg.byteLength) {
          c.held.push(msg.slice(Math.max(0, n)));
          ws.pause();
        }
      },
      drain(ws) {
        ws.data.vnc?.resume();
      },
      close(ws) {
        open.delete(ws);
        ws.data.vnc?.end();
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
