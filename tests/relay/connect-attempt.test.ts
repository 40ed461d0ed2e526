import { describe, expect, test } from "bun:test";
import { ConnectAttempt } from "../../src/relay/connect-attempt.ts";
import { TargetError } from "../../src/relay/target.ts";

const HOUR = 3_600_000;

describe("ConnectAttempt: a target set-up settles once", () => {
  test("open hands the value over; a later failure neither rejects nor cleans up", async () => {
    let cleanups = 0;
    const a = new ConnectAttempt<string>(HOUR, () => "timeout", () => cleanups++);
    a.open("conn");
    a.fail("too late");
    expect(await a.result).toBe("conn");
    expect(cleanups).toBe(0);
  });

  test("the first failure cleans up once and rejects with a TargetError carrying its reason", async () => {
    let cleanups = 0;
    const a = new ConnectAttempt<string>(HOUR, () => "timeout", () => cleanups++);
    a.fail("VNC server refused the connection");
    a.fail("second reason");
    a.open("conn");
    const err = await a.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as Error).message).toBe("VNC server refused the connection");
    expect(cleanups).toBe(1);
  });

  test("a clean-up that throws still rejects", async () => {
    const a = new ConnectAttempt<string>(HOUR, () => "timeout", () => {
      throw new Error("socket already closed");
    });
    a.fail("handshake failed");
    await expect(a.result).rejects.toThrow("handshake failed");
  });

  test("when the timer runs out it fails with the reason asked for then", async () => {
    let step = "connect";
    const a = new ConnectAttempt<string>(1, () => `timeout (${step})`, () => {});
    step = "TLS handshake";
    await expect(a.result).rejects.toThrow("timeout (TLS handshake)");
  });
});
