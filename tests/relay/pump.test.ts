import { describe, expect, test } from "bun:test";
import { Pump, WRITE_CLOSED, WRITE_FULL, type Sink, type Source } from "../../src/relay/pump.ts";

/** A source that records pause/resume; a sink whose answers the test scripts. */
function fakes(answers: Array<number | "all">) {
  const events: string[] = [];
  const written: number[][] = [];
  const source: Source = { pause: () => events.push("pause"), resume: () => events.push("resume") };
  const sink: Sink = {
    write(bytes) {
      const a = answers.length > 0 ? answers.shift()! : "all";
      const n = a === "all" ? bytes.byteLength : a;
      if (n > 0) written.push([...bytes.subarray(0, n)]);
      else if (n === WRITE_FULL) written.push([...bytes]);
      return n;
    },
  };
  return { events, written, source, sink };
}

describe("Pump", () => {
  test("a sink that takes everything: bytes pass in order, the source is never paused", () => {
    const f = fakes([]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(1, 2));
    p.push(Uint8Array.of(3));
    expect(f.written).toEqual([[1, 2], [3]]);
    expect(f.events).toEqual([]);
    expect(p.pending).toBe(false);
  });

  test("a partial write holds the rest, pauses the source, and later bytes queue behind it", () => {
    const f = fakes([1]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(1, 2, 3));
    p.push(Uint8Array.of(4));
    expect(f.written).toEqual([[1]]);
    expect(f.events).toEqual(["pause"]);
    expect(p.pending).toBe(true);
    expect(p.drain()).toBe(true);
    expect(f.written).toEqual([[1], [2, 3], [4]]);
    expect(f.events).toEqual(["pause", "resume"]);
  });

  test("a dropped send (0) is held whole and resent on drain", () => {
    const f = fakes([0]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(9, 8));
    expect(f.written).toEqual([]);
    expect(p.drain()).toBe(true);
    expect(f.written).toEqual([[9, 8]]);
  });

  test("WRITE_FULL: taken, not held, but the source pauses until the drain", () => {
    const f = fakes([WRITE_FULL]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(5));
    expect(p.pending).toBe(false);
    expect(f.events).toEqual(["pause"]);
    expect(p.drain()).toBe(true);
    expect(f.events).toEqual(["pause", "resume"]);
  });

  test("a drain that fills the sink again keeps the rest and the source paused", () => {
    const f = fakes([0, "all", 0]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(1));
    p.push(Uint8Array.of(2));
    expect(p.drain()).toBe(false);
    expect(f.events).toEqual(["pause"]);
    expect(p.drain()).toBe(true);
    expect(f.written).toEqual([[1], [2]]);
    expect(f.events).toEqual(["pause", "resume"]);
  });

  test("held bytes are copies: the source may reuse its buffer", () => {
    const f = fakes([0]);
    const p = new Pump(f.source, f.sink);
    const buf = Uint8Array.of(1, 2);
    p.push(buf);
    buf.fill(0);
    p.drain();
    expect(f.written).toEqual([[1, 2]]);
  });

  test("before a sink is attached bytes are held; attach flushes them and resumes a source paused at start", () => {
    const f = fakes([]);
    const p = new Pump(f.source, null, true);
    p.push(Uint8Array.of(1));
    p.push(Uint8Array.of(2));
    expect(f.events).toEqual([]);
    expect(p.attach(f.sink)).toBe(true);
    expect(f.written).toEqual([[1], [2]]);
    expect(f.events).toEqual(["resume"]);
  });

  test("a closed sink drops the bytes without pausing (its close event ends the session)", () => {
    const f = fakes([WRITE_CLOSED]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(1));
    expect(p.pending).toBe(false);
    expect(f.events).toEqual([]);
  });

  test("bytes that arrive while paused (already read by the source) keep their order", () => {
    const f = fakes([2]);
    const p = new Pump(f.source, f.sink);
    p.push(Uint8Array.of(1, 2, 3));
    p.push(Uint8Array.of(4, 5));
    p.push(Uint8Array.of(6));
    expect(f.events).toEqual(["pause"]);
    p.drain();
    expect(f.written.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
