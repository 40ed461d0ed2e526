import { describe, expect, test } from "bun:test";
import { endianness } from "node:os";
import { returnConstant, steerGroup, unsteerGroup } from "../../src/server/reuseport.ts";
import { ownListenerFds } from "../../src/server/port-owner.ts";

describe("returnConstant", () => {
  test("is one sock_filter: BPF_RET|BPF_K (0x06), jt 0, jf 0, k", () => {
    const insn = new DataView(returnConstant(1).buffer);
    const le = endianness() === "LE";
    expect([insn.getUint16(0, le), insn.getUint8(2), insn.getUint8(3), insn.getUint32(4, le)]).toEqual([0x06, 0, 0, 1]);
  });
});

describe("steerGroup (real sockets, loopback)", () => {
  /** `n` requests to `port`, each on a new connection, one after another. */
  async function requestMany(port: number, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: "close" } })).text();
  }

  test("sends every new connection to the listener that joined last; unsteered, the kernel spreads them again", async () => {
    const hits = [0, 0];
    const listener = (which: 0 | 1, port: number) =>
      Bun.serve({ hostname: "127.0.0.1", port, reusePort: true, fetch: () => (hits[which]!++, new Response("x")) });
    const old = listener(0, 0);
    const fresh = listener(1, old.port!);
    try {
      const fds = ownListenerFds("127.0.0.1", old.port!);
      expect(fds.length).toBe(2);
      steerGroup(fds[0]!, 1); // the second to join
      await requestMany(old.port!, 30);
      expect(hits).toEqual([0, 30]);
      unsteerGroup(fds[0]!);
      // By the hash of the client's port: 40 connections all on one side has odds 2^-39.
      await requestMany(old.port!, 40);
      expect(hits[0]).toBeGreaterThan(0);
    } finally {
      void old.stop(true);
      void fresh.stop(true);
    }
  });
});
