/**
 * Sans-I/O parser for everything an RFB 3.8 client sends to the demo server, from the version
 * string to the normal messages. Fed arbitrary TCP chunks (down to one byte at a time), it
 * returns whole messages in order; it never touches a socket, so it is tested byte by byte.
 *
 * Memory stays bounded: at most one partial message is buffered (the largest legal one is a
 * SetEncodings of 65535 entries, 256 KiB), and ClientCutText beyond `maxCutText` is dropped as it
 * arrives instead of being buffered.
 */
import {
  CLIENT_CUT_TEXT,
  CLIENT_FRAMEBUFFER_UPDATE_REQUEST,
  CLIENT_KEY_EVENT,
  CLIENT_POINTER_EVENT,
  CLIENT_SET_ENCODINGS,
  CLIENT_SET_PIXEL_FORMAT,
  PIXEL_FORMAT_LENGTH,
  RFB_VERSION_LENGTH,
  VNC_AUTH_CHALLENGE_LENGTH,
} from "../rfb/constants.ts";
import { ByteReader } from "../rfb/reader.ts";
import { readRfbVersion } from "../rfb/version.ts";

/** RFB PIXEL_FORMAT (RFC 6143 7.4). */
export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** One thing the client said, in protocol order. */
export type ClientMessage =
  | { type: "version"; version: string }
  | { type: "security-choice"; securityType: number }
  | { type: "auth-response"; response: Uint8Array }
  | { type: "client-init"; shared: boolean }
  | { type: "set-pixel-format"; format: PixelFormat }
  | { type: "set-encodings"; encodings: number[] }
  | { type: "update-request"; incremental: boolean; x: number; y: number; width: number; height: number }
  | { type: "key"; down: boolean; keysym: number }
  | { type: "pointer"; buttons: number; x: number; y: number }
  | { type: "cut-text"; text: string; truncated: boolean }
  | { type: "error"; reason: string };

type Phase = "version" | "security-choice" | "auth-response" | "client-init" | "normal" | "failed";

/** Default cap on buffered ClientCutText bytes; the rest of a longer text is dropped. */
export const MAX_CUT_TEXT = 64 * 1024;

/** Parses a 16-byte PIXEL_FORMAT at `offset`. */
export function parsePixelFormat(b: Uint8Array, offset = 0): PixelFormat {
  const v = new DataView(b.buffer, b.byteOffset + offset, PIXEL_FORMAT_LENGTH);
  return {
    bitsPerPixel: v.getUint8(0),
    depth: v.getUint8(1),
    bigEndian: v.getUint8(2) !== 0,
    trueColour: v.getUint8(3) !== 0,
    redMax: v.getUint16(4),
    greenMax: v.getUint16(6),
    blueMax: v.getUint16(8),
    redShift: v.getUint8(10),
    greenShift: v.getUint8(11),
    blueShift: v.getUint8(12),
  };
}

/**
 * Incremental client-message parser. `push(chunk)` returns the messages completed by the chunk.
 * After an `error` message the parser stops and returns nothing more (the server closes).
 * `startAt` lets tests begin past the handshake.
 */
export class ClientMessageParser {
  /** Unbounded here: after each push at most one partial message stays (see the module note). */
  private queue = new ByteReader(Number.POSITIVE_INFINITY);
  private phase: Phase;
  /** Bytes of an over-long cut text still to drop. */
  private skipping = 0;
  private readonly maxCutText: number;

  constructor(opts: { startAt?: "version" | "normal"; maxCutText?: number } = {}) {
    this.phase = opts.startAt ?? "version";
    this.maxCutText = opts.maxCutText ?? MAX_CUT_TEXT;
  }

  /** Bytes currently held (a partial message); for tests of the memory bound. */
  get bufferedBytes(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): ClientMessage[] {
    const out: ClientMessage[] = [];
    if (this.phase === "failed" || chunk.length === 0) return out;
    if (this.skipping > 0) {
      const drop = Math.min(this.skipping, chunk.length);
      this.skipping -= drop;
      chunk = chunk.subarray(drop);
      if (chunk.length === 0) return out;
    }
    this.queue.push(chunk);
    for (;;) {
      const msg = this.next();
      if (!msg) break;
      out.push(msg);
      if (msg.type === "error") {
        this.phase = "failed";
        this.queue.skip(this.queue.length);
        break;
      }
      if (this.skipping > 0) this.skipping -= this.queue.skip(this.skipping);
    }
    return out;
  }

  /** `n` bytes taken off the front (copied, so callers may keep them), or null if short. */
  private take(n: number): Uint8Array | null {
    return this.queue.read(n)?.slice() ?? null;
  }

  private peek(n: number): Uint8Array | null {
    return this.queue.peek(n);
  }

  private next(): ClientMessage | null {
    switch (this.phase) {
      case "version": {
        const b = this.take(RFB_VERSION_LENGTH);
        if (!b) return null;
        if (readRfbVersion(b) === null) return { type: "error", reason: "not an RFB client" };
        const version = String.fromCharCode(...b);
        this.phase = "security-choice";
        return { type: "version", version };
      }
      case "security-choice": {
        const b = this.take(1);
        if (!b) return null;
        this.phase = "auth-response";
        return { type: "security-choice", securityType: b[0]! };
      }
      case "auth-response": {
        const b = this.take(VNC_AUTH_CHALLENGE_LENGTH);
        if (!b) return null;
        this.phase = "client-init";
        return { type: "auth-response", response: b };
      }
      case "client-init": {
        const b = this.take(1);
        if (!b) return null;
        this.phase = "normal";
        return { type: "client-init", shared: b[0] !== 0 };
      }
      case "normal":
        return this.nextNormal();
      case "failed":
        return null;
    }
  }

  private nextNormal(): ClientMessage | null {
    const head = this.peek(1);
    if (!head) return null;
    switch (head[0]) {
      case CLIENT_SET_PIXEL_FORMAT: {
        const b = this.take(4 + PIXEL_FORMAT_LENGTH);
        if (!b) return null;
        return { type: "set-pixel-format", format: parsePixelFormat(b, 4) };
      }
      case CLIENT_SET_ENCODINGS: {
        const h = this.peek(4);
        if (!h) return null;
        const count = (h[2]! << 8) | h[3]!;
        const b = this.take(4 + 4 * count);
        if (!b) return null;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const encodings: number[] = [];
        for (let i = 0; i < count; i++) encodings.push(v.getInt32(4 + 4 * i));
        return { type: "set-encodings", encodings };
      }
      case CLIENT_FRAMEBUFFER_UPDATE_REQUEST: {
        const b = this.take(10);
        if (!b) return null;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        return {
          type: "update-request",
          incremental: b[1] !== 0,
          x: v.getUint16(2),
          y: v.getUint16(4),
          width: v.getUint16(6),
          height: v.getUint16(8),
        };
      }
      case CLIENT_KEY_EVENT: {
        const b = this.take(8);
        if (!b) return null;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        return { type: "key", down: b[1] !== 0, keysym: v.getUint32(4) };
      }
      case CLIENT_POINTER_EVENT: {
        const b = this.take(6);
        if (!b) return null;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        return { type: "pointer", buttons: b[1]!, x: v.getUint16(2), y: v.getUint16(4) };
      }
      case CLIENT_CUT_TEXT: {
        const h = this.peek(8);
        if (!h) return null;
        const length = new DataView(h.buffer, h.byteOffset, 8).getUint32(4);
        const kept = Math.min(length, this.maxCutText);
        if (this.queue.length < 8 + kept) return null;
        this.queue.skip(8);
        const text = this.take(kept)!;
        this.skipping = length - kept;
        // ClientCutText is Latin-1 (RFC 6143 7.5.6).
        return { type: "cut-text", text: new TextDecoder("latin1").decode(text), truncated: length > kept };
      }
      default:
        return { type: "error", reason: `unsupported client message type ${head[0]}` };
    }
  }
}
