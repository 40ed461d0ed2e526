import { describe, expect, test } from "bun:test";
import { addressesOverlap, foreignListeners, parseListeningSockets } from "../../src/server/port-owner.ts";

describe("parseListeningSockets", () => {
  test("reads LISTEN rows of /proc/net/tcp and tcp6, skipping other states", () => {
    const tcp = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:17D4 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0",
      "   1: 0100007F:B131 0100007F:C6C0 01 00000000:00000000 03:000006B0 00000000     0        0 77 3 0000000000000000",
      "   2: 00000000:17D4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0",
    ].join("\n");
    expect(parseListeningSockets(tcp)).toEqual([
      { address: "127.0.0.1", family: 4, port: 6100, inode: 4242 },
      { address: "0.0.0.0", family: 4, port: 6100, inode: 99 },
    ]);
    const tcp6 = [
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000000000000000000001000000:17D4 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5151 1 0000000000000000 100 0 0 10 0",
    ].join("\n");
    expect(parseListeningSockets(tcp6)).toEqual([{ address: "::1", family: 6, port: 6100, inode: 5151 }]);
  });

  test.each([
    ["127.0.0.1", "127.0.0.1", true],
    ["127.0.0.1", "0.0.0.0", true],
    ["0.0.0.0", "127.0.0.2", true],
    ["127.0.0.1", "::", true],
    ["127.0.0.1", "127.0.0.2", false],
    ["::1", "127.0.0.1", false],
  ] as const)("ours %s, theirs %s: overlap %p", (ours, theirs, want) => {
    expect(addressesOverlap(ours, theirs)).toBe(want);
  });

  test("a SO_REUSEPORT listener of this process is ours, not foreign", () => {
    const l = Bun.serve({ hostname: "127.0.0.1", port: 0, reusePort: true, fetch: () => new Response("") });
    try {
      expect(foreignListeners("127.0.0.1", l.port!)).toEqual([]);
    } finally {
      void l.stop(true);
    }
  });
});
