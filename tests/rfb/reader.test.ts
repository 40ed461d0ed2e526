import { describe, expect, test } from "bun:test";
import { ByteReader, ReaderOverflowError } from "../../src/rfb/reader.ts";

const u8 = (...b: number[]) => new Uint8Array(b);

describe("ByteReader", () => {
  test("returns null and consumes nothing when fewer bytes than asked are buffered", () => {
    const r = new ByteReader();
    r.push(u8(1, 2));
    expect(r.read(3)).toBeNull();
    expect(r.length).toBe(2);
    expect(r.need(3)).toBe(1);
    r.push(u8(3));
    expect(r.need(3)).toBe(0);
    expect([...r.read(3)!]).toEqual([1, 2, 3]);
    expect(r.length).toBe(0);
  });

  test("reads exact counts across many chunk boundaries", () => {
    const r = new ByteReader();
    for (let i = 0; i < 10; i++) r.push(u8(i));
    expect([...r.read(4)!]).toEqual([0, 1, 2, 3]);
    expect([...r.read(1)!]).toEqual([4]);
    expect([...r.read(5)!]).toEqual([5, 6, 7, 8, 9]);
    expect(r.read(1)).toBeNull();
  });

  test("reads inside one chunk then the rest of it", () => {
    const r = new ByteReader();
    r.push(u8(1, 2, 3, 4, 5));
    expect([...r.read(2)!]).toEqual([1, 2]);
    expect([...r.readAll()]).toEqual([3, 4, 5]);
    expect(r.length).toBe(0);
  });

  test("reads big-endian integers split over chunks", () => {
    const r = new ByteReader();
    r.push(u8(0xff));
    expect(r.readU32()).toBeNull();
    r.push(u8(0xfe, 0x01));
    expect(r.readU32()).toBeNull();
    r.push(u8(0x05, 0x12, 0x34, 7));
    expect(r.readU32()).toBe(0xfffe0105);
    expect(r.readU16()).toBe(0x1234);
    expect(r.readU8()).toBe(7);
    expect(r.readU8()).toBeNull();
  });

  test("a zero-length read succeeds and empty chunks are ignored", () => {
    const r = new ByteReader();
    r.push(new Uint8Array(0));
    expect(r.read(0)!.byteLength).toBe(0);
    expect(r.length).toBe(0);
  });

  test("refuses negative or fractional lengths", () => {
    const r = new ByteReader();
    expect(() => r.read(-1)).toThrow(RangeError);
    expect(() => r.read(1.5)).toThrow(RangeError);
  });

  test("refuses to buffer past its cap, and accepts exactly the cap", () => {
    const r = new ByteReader(8);
    r.push(new Uint8Array(8));
    expect(r.length).toBe(8);
    expect(() => r.push(u8(1))).toThrow(ReaderOverflowError);
  });

  test("peek gives exactly n bytes across chunks without consuming them", () => {
    const r = new ByteReader();
    r.push(u8(1, 2));
    r.push(u8(3, 4));
    r.read(1);
    expect(r.peek(4)).toBeNull();
    expect([...r.peek(3)!]).toEqual([2, 3, 4]);
    expect(r.length).toBe(3);
    expect([...r.read(3)!]).toEqual([2, 3, 4]);
  });

  test("skip drops at most what is buffered and says how much", () => {
    const r = new ByteReader();
    r.push(u8(1, 2, 3));
    r.push(u8(4));
    expect(r.skip(2)).toBe(2);
    expect(r.skip(5)).toBe(2);
    expect(r.length).toBe(0);
    r.push(u8(9));
    expect([...r.read(1)!]).toEqual([9]);
  });
});
