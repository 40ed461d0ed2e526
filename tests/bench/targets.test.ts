/** The bench's wss listener (scripts/bench/targets.ts) that its ceiling server and baseline relay share. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serveWss } from "../../scripts/bench/targets.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";

let keys: EngineKeys;
let server: ReturnType<typeof serveWss<{ n: number }>>;
let made = 0;

beforeAll(() => {
  keys = makeEngineKeys("bench.test");
  server = serveWss(keys.certFile, keys.keyFile, () => ({ n: ++made }), {
    message(ws) {
      ws.send(`conn ${ws.data.n}`);
    },
  });
});
afterAll(() => {
  server?.stop(true);
  if (keys) removeEngineKeys(keys);
});

/** Opens a websocket offering `protocols`; resolves with the chosen one and the first message. */
async function exchange(protocols: string[]): Promise<{ protocol: string; reply: string }> {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, { protocols, tls: { rejectUnauthorized: false } } as unknown as string[]);
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const reply = new Promise<string>((resolve) => (ws.onmessage = (e) => resolve(String(e.data))));
    ws.send("x");
    return { protocol: ws.protocol, reply: await reply };
  } finally {
    ws.close();
  }
}

describe("serveWss", () => {
  test("answers the binary subprotocol when offered (as noVNC asks), none otherwise; each connection gets fresh data", async () => {
    const first = await exchange(["binary"]);
    expect(first.protocol).toBe("binary");
    const second = await exchange([]);
    expect(second.protocol).toBe("");
    expect([first.reply, second.reply]).toEqual(["conn 1", "conn 2"]);
  });

  test("a plain request is refused 400", async () => {
    const r = await fetch(`https://127.0.0.1:${server.port}/`, { tls: { rejectUnauthorized: false } } as RequestInit);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("websocket only\n");
  });
});
