/**
 * A client that leaves while the fleet store is admitting it (the store's answer is slowed down
 * by a forwarder between the proxy and Redis): its websocket never opens, so its slot is freed
 * and its single-use ticket is not used up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { upgradeStatus } from "../helpers/raw-ws.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";
import { listenEcho } from "../helpers/targets.ts";

let keys: ProxyKeys;
let echo: TCPSocketListener<undefined>;
let redis: TestRedis;
let forwarder: TCPSocketListener<{ upstream: Promise<Socket<undefined>> }>;
/** How long Redis's answers are held back on their way to the proxy (below its 1 s deadline). */
let replyDelayMs = 0;
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  keys = makeProxyKeys();
  echo = listenEcho();
  redis = await startRedis();
  forwarder = Bun.listen<{ upstream: Promise<Socket<undefined>> }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        // Answers keep their order (one chain per connection), however the delay changes.
        let chain = Promise.resolve();
        client.data = {
          upstream: Bun.connect({
            hostname: "127.0.0.1",
            port: redis.port,
            socket: {
              data: (_s, chunk) => {
                const [copy, delay] = [Buffer.from(chunk), replyDelayMs];
                chain = chain.then(() => Bun.sleep(delay)).then(() => void client.write(copy));
              },
              close: () => void client.end(),
            },
          }),
        };
      },
      data: (client, chunk) => {
        const copy = Buffer.from(chunk);
        void client.data.upstream.then((u) => u.write(copy));
      },
      close: (client) => void client.data.upstream.then((u) => u.end()),
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  forwarder?.stop(true);
  await redis?.stop();
  echo?.stop(true);
  removeProxyKeys(keys);
});

/** Sends a websocket upgrade for `path` over TLS and hangs up without reading the answer. */
async function upgradeAndLeave(port: number, path: string, afterMs: number): Promise<void> {
  let handshaken = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    tls: { rejectUnauthorized: false },
    socket: { handshake: () => void (handshaken = true), data() {} },
  });
  while (!handshaken) await Bun.sleep(5);
  s.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await Bun.sleep(afterMs);
  s.terminate();
}

describe("a client that leaves during admission", () => {
  test("with --single-use its ticket still opens a session afterwards, and its slot is free", async () => {
    proxy = await startProxy(
      serveArgs(keys, "--allow", `127.0.0.1:${echo.port}`, "--single-use", "--max-sessions-per-ip", "1", "--store", `redis://127.0.0.1:${forwarder.port}`, "--log-level", "info"),
    );
    const t = engineTicket(keys.engine, echo.port);
    replyDelayMs = 600;
    await upgradeAndLeave(proxy.port, `/${t}`, 150);
    await Bun.sleep(1200); // the delayed answer arrives, the upgrade finds the client gone
    replyDelayMs = 0;
    const again = await upgradeStatus(proxy.port, `/${t}`);
    expect(again.body).not.toContain("already used");
    expect(again.status).toBe(101);
  });
});
