import { describe, expect, test } from "bun:test";
import { DowngradeGuard } from "../../src/relay/stages/downgrade-guard.ts";
import { ExpectedPrefix } from "../../src/relay/stages/vencrypt-client.ts";
import { isFailure } from "../../src/relay/stages/stage.ts";
import { concat, splittings } from "../helpers/chunks.ts";

describe("DowngradeGuard (plain ticket)", () => {
  const vencryptOnly = concat("RFB 003.008\n", [1, 19]);
  const vncAuth = concat("RFB 003.008\n", [2, 2, 19], new Uint8Array(16).fill(3));

  for (const [how, chunks] of splittings(vencryptOnly)) {
    test(`a server offering only VeNCrypt fails with 1011 (${how})`, () => {
      const g = new DowngradeGuard();
      const results = chunks.map((c) => g.feed(c));
      expect(results.slice(0, -1).every((r) => !isFailure(r))).toBe(true);
      expect(results.at(-1)).toMatchObject({ fail: true, code: 1011, reason: "Ticket says plain VNC but the server requires TLS" });
      expect(g.done).toBe(true);
    });
  }

  for (const [how, chunks] of splittings(vncAuth)) {
    test(`a server offering VNC auth passes every byte unchanged and the guard steps out (${how})`, () => {
      const g = new DowngradeGuard();
      for (const c of chunks) expect(g.feed(c)).toBe(c);
      expect(g.done).toBe(true);
    });
  }

  test("something that is not an RFB 3.7+ opening passes and the guard steps out at once", () => {
    const g = new DowngradeGuard();
    const junk = new Uint8Array(20).fill(0x41);
    expect(g.feed(junk)).toBe(junk);
    expect(g.done).toBe(true);
  });

  test("it stops looking after SNIFF_LIMIT bytes (a long type list is not held)", () => {
    const g = new DowngradeGuard();
    g.feed(concat("RFB 003.008\n", [200], new Uint8Array(40).fill(19)));
    expect(g.done).toBe(false);
    g.feed(new Uint8Array(20).fill(19));
    expect(g.done).toBe(true);
  });
});

describe("ExpectedPrefix (browser side of VeNCrypt termination)", () => {
  const expected = concat("RFB 003.008\n", [2]);
  const after = new Uint8Array(16).fill(9);

  for (const [how, chunks] of splittings(concat(expected, after))) {
    test(`swallows the expected answer and passes what follows (${how})`, () => {
      const s = new ExpectedPrefix(expected);
      const out: number[] = [];
      for (const c of chunks) {
        const r = s.feed(c);
        if (isFailure(r)) throw new Error(r.reason);
        out.push(...r);
      }
      expect(out).toEqual([...after]);
      expect(s.done).toBe(true);
    });
  }

  test("a different answer fails with 1002", () => {
    const s = new ExpectedPrefix(expected);
    expect(s.feed(concat("RFB 003.008\n", [1]))).toMatchObject({ code: 1002, reason: "Unexpected RFB handshake from client" });
  });
});
