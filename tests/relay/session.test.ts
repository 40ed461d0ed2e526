import { describe, expect, test } from "bun:test";
import { Session, type BrowserSocket, type SessionInfo } from "../../src/relay/session.ts";
import { TargetError, type ConnectRequest, type TargetConn, type TargetEvents } from "../../src/relay/target.ts";
import { concat } from "../helpers/chunks.ts";

/** A browser websocket whose send answers the test scripts (default: sent). */
class FakeBrowser implements BrowserSocket {
  sent: number[][] = [];
  log: string[] = [];
  closed: { code?: number; reason?: string } | null = null;
  answers: number[] = [];
  sendBinary(bytes: Uint8Array): number {
    const a = this.answers.length > 0 ? this.answers.shift()! : bytes.byteLength;
    if (a !== 0) this.sent.push([...bytes]);
    return a;
  }
  close(code?: number, reason?: string): void {
    this.closed ??= { code, reason };
  }
  pause(): void {
    this.log.push("pause");
  }
  resume(): void {
    this.log.push("resume");
  }
}

/** A target connection whose write answers the test scripts (default: all taken). */
class FakeTarget implements TargetConn {
  written: number[][] = [];
  log: string[] = [];
  answers: number[] = [];
  events!: TargetEvents;
  write(bytes: Uint8Array): number {
    const a = this.answers.length > 0 ? this.answers.shift()! : bytes.byteLength;
    if (a > 0) this.written.push([...bytes.subarray(0, a)]);
    return a;
  }
  pause(): void {
    this.log.push("pause");
  }
  resume(): void {
    this.log.push("resume");
  }
  end(): void {
    this.log.push("end");
  }
  terminate(): void {
    this.log.push("terminate");
  }
}

async function start(over: Partial<SessionInfo> = {}, connected: { clientPreface?: Uint8Array; clientExpect?: Uint8Array } = {}) {
  const target = new FakeTarget();
  const browser = new FakeBrowser();
  let ended: Session | null = null;
  const session = new Session({
    id: "s1",
    client: "127.0.0.1",
    ticketHash: "abc",
    ticketId: null,
    targetLabel: "127.0.0.1:5900",
    connectRequest: { address: "127.0.0.1", port: 5900, ticketHost: "127.0.0.1", timeoutMs: 60_000 },
    connect: async (req: ConnectRequest) => {
      target.events = req.events;
      return { conn: target, ...connected };
    },
    checkPlainOffer: false,
    onEnd: (s) => (ended = s),
    ...over,
  });
  await session.open(browser);
  return { session, target, browser, ended: () => ended };
}

const bytes = (...b: number[]) => Uint8Array.from(b);
const VNC_OPENING = concat("RFB 003.008\n", [1, 2]);

describe("Session with fake sides", () => {
  test("bytes flow both ways in order; the browser is paused until the target is connected", async () => {
    const { session, target, browser } = await start();
    expect(browser.log).toEqual(["pause", "resume"]);
    target.events.data(VNC_OPENING);
    session.fromBrowser(bytes(1, 2));
    session.fromBrowser(bytes(3));
    expect(browser.sent).toEqual([[...VNC_OPENING]]);
    expect(target.written).toEqual([[1, 2], [3]]);
    expect(session.bytesUp).toBe(3);
    expect(session.bytesDown).toBe(VNC_OPENING.byteLength);
    session.browserClosed(1000, "");
  });

  test("a slow browser pauses the target; its drain resends and resumes", async () => {
    const { session, target, browser } = await start();
    browser.answers = [0];
    target.events.data(bytes(1));
    target.events.data(bytes(2));
    expect(target.log).toEqual(["pause"]);
    session.browserDrained();
    expect(browser.sent).toEqual([[1], [2]]);
    expect(target.log).toEqual(["pause", "resume"]);
    session.browserClosed(1000, "");
  });

  test("a slow target pauses the browser; its drain writes the rest and resumes", async () => {
    const { session, target, browser } = await start();
    target.answers = [1];
    session.fromBrowser(bytes(1, 2, 3));
    expect(browser.log).toEqual(["pause", "resume", "pause"]);
    target.events.drain();
    expect(target.written).toEqual([[1], [2, 3]]);
    expect(browser.log.at(-1)).toBe("resume");
    session.browserClosed(1000, "");
  });

  test("target close -> 1000 only after the bytes the browser had not taken", async () => {
    const { session, target, browser, ended } = await start();
    browser.answers = [0];
    target.events.data(bytes(7));
    target.events.close();
    expect(session.phase).toBe("flushing");
    expect(browser.closed).toBeNull();
    session.browserDrained();
    expect(browser.sent).toEqual([[7]]);
    expect(browser.closed).toEqual({ code: 1000, reason: "Target closed" });
    session.browserClosed(1000, "Target closed");
    expect(ended()?.outcome).toBe("target_closed");
    expect(session.phase).toBe("ended");
  });

  test("target failure -> 1011 with its reason; browser close ends the target", async () => {
    const { session, target, browser } = await start();
    target.events.close("target error: ECONNRESET");
    expect(browser.closed).toEqual({ code: 1011, reason: "target error: ECONNRESET" });
    session.browserClosed(1011, "");
    expect(target.log).toContain("end");
    expect(session.outcome).toBe("target_error");
  });

  test("a browser that vanishes (1006) resets the target", async () => {
    const { session, target } = await start();
    session.browserClosed(1006, "");
    expect(target.log).toEqual(["terminate"]);
    expect(session.outcome).toBe("client_closed");
  });

  test("connect failure -> 1011 with the connector's reason", async () => {
    const browser = new FakeBrowser();
    const s = new Session({
      id: "s2",
      client: "c",
      ticketHash: "h",
      ticketId: null,
      targetLabel: "t",
      connectRequest: { address: "127.0.0.1", port: 1, ticketHost: "x", timeoutMs: 1000 },
      connect: async () => {
        throw new TargetError("websocket target certificate not trusted");
      },
      checkPlainOffer: false,
    });
    await s.open(browser);
    expect(browser.closed).toEqual({ code: 1011, reason: "websocket target certificate not trusted" });
    expect(s.outcome).toBe("connect_failed");
  });

  test("text frames -> 1003", async () => {
    const { session, browser } = await start();
    session.fromBrowser("hello");
    expect(browser.closed?.code).toBe(1003);
  });

  test("plain ticket against a VeNCrypt-only server: 1011 and the target is ended", async () => {
    const { target, browser } = await start({ checkPlainOffer: true });
    target.events.data(concat("RFB 003.008\n", [1, 19]));
    expect(browser.closed).toEqual({ code: 1011, reason: "Ticket says plain VNC but the server requires TLS" });
    expect(target.log).toContain("end");
    expect(browser.sent).toEqual([]);
  });

  test("VeNCrypt termination: the preface goes first, the browser's answer is swallowed", async () => {
    const expectBytes = concat("RFB 003.008\n", [2]);
    const { session, target, browser } = await start({}, { clientPreface: concat("RFB 003.008\n", [1, 2]), clientExpect: expectBytes });
    expect(browser.sent).toEqual([[...concat("RFB 003.008\n", [1, 2])]]);
    session.fromBrowser(concat(expectBytes, [9, 9]));
    expect(target.written).toEqual([[9, 9]]);
    session.browserClosed(1000, "");
  });

  test("view-only: input never reaches the target, display requests do; drops are counted", async () => {
    let dropped = 0;
    const { session, target } = await start({ viewOnly: true, onInputDropped: (n) => (dropped += n) });
    target.events.data(VNC_OPENING);
    session.fromBrowser(concat("RFB 003.008\n", [2], new Uint8Array(16), [0]));
    session.fromBrowser(bytes(4, 1, 0, 0, 0, 0, 0, 0x61));
    session.fromBrowser(bytes(3, 1, 0, 0, 0, 0, 1, 0, 1, 0));
    expect(target.written.flat()).toEqual([...concat("RFB 003.008\n", [2], new Uint8Array(16), [1], [3, 1, 0, 0, 0, 0, 1, 0, 1, 0])]);
    expect(dropped).toBe(1);
    expect(session.inputDropped).toBe(1);
    // Two input messages in one websocket message count as two.
    session.fromBrowser(bytes(4, 1, 0, 0, 0, 0, 0, 0x61, 5, 0, 0, 1, 0, 1));
    expect(dropped).toBe(3);
    expect(session.inputDropped).toBe(3);
    session.fromBrowser(bytes(7));
    expect(session.outcome).toBe("protocol_error");
  });

  test("a plain session runs no stage once the downgrade guard has decided", async () => {
    const { session, target } = await start({ checkPlainOffer: true });
    expect(session.stagesInPath).toEqual({ up: 0, down: 1 });
    target.events.data(VNC_OPENING);
    expect(session.stagesInPath).toEqual({ up: 0, down: 0 });
    session.browserClosed(1000, "");
  });

  test("view-only over VeNCrypt: the filter sees the browser's whole stream, then the answer is swallowed", async () => {
    const expectBytes = concat("RFB 003.008\n", [2]);
    const { session, target } = await start({ viewOnly: true }, { clientPreface: concat("RFB 003.008\n", [1, 2]), clientExpect: expectBytes });
    expect(session.stagesInPath).toEqual({ up: 2, down: 0 });
    const auth = new Uint8Array(16).fill(5);
    session.fromBrowser(concat(expectBytes, auth, [0], [4, 1, 0, 0, 0, 0, 0, 0x61], [3, 0, 0, 0, 0, 0, 0, 1, 0, 1]));
    expect(target.written.flat()).toEqual([...concat(auth, [1], [3, 0, 0, 0, 0, 0, 0, 1, 0, 1])]);
    expect(session.stagesInPath).toEqual({ up: 1, down: 0 });
    session.browserClosed(1000, "");
  });

  test("target bytes that arrive before connect resolves are delivered after it, in order", async () => {
    const target = new FakeTarget();
    const browser = new FakeBrowser();
    const s = new Session({
      id: "s3",
      client: "c",
      ticketHash: "h",
      ticketId: null,
      targetLabel: "t",
      connectRequest: { address: "127.0.0.1", port: 1, ticketHost: "x", timeoutMs: 60_000 },
      connect: async (req) => {
        req.events.data(bytes(1));
        req.events.data(bytes(2));
        return { conn: target };
      },
      checkPlainOffer: false,
    });
    await s.open(browser);
    expect(browser.sent).toEqual([[1], [2]]);
    s.browserClosed(1000, "");
  });
});
