/**
 * A byte queue for protocol parsers fed by TCP: chunks arrive split anywhere, a step asks for
 * exactly n bytes and either gets them (consumed) or learns it must wait (nothing consumed).
 * Pure: no I/O, no timers.
 */

/** Thrown by `push` when more than `maxBuffered` bytes would be held: the peer is flooding. */
export class ReaderOverflowError extends Error {
  override name = "ReaderOverflowError";
}

/** Exact-count reads across arbitrary chunk boundaries, copying only when a read spans chunks. */
export class ByteReader {
  private chunks: Uint8Array[] = [];
  /** Offset into chunks[0] of the first unread byte. */
  private head = 0;
  private size = 0;

  /** @param maxBuffered cap on unread bytes; a handshake never needs more than a few KiB. */
  constructor(private readonly maxBuffered = 64 * 1024) {}

  /** Unread bytes held. */
  get length(): number {
    return this.size;
  }

  /** Appends a chunk (kept by reference: callers must not reuse its memory). */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    if (this.size + chunk.byteLength > this.maxBuffered) {
      throw new ReaderOverflowError(`more than ${this.maxBuffered} bytes buffered`);
    }
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** How many more bytes are needed before `read(n)` succeeds (0 = it would succeed now). */
  need(n: number): number {
    return Math.max(0, n - this.size);
  }

  /** Exactly n bytes, consumed; or null (nothing consumed) when fewer are buffered. */
  read(n: number): Uint8Array | null {
    const out = this.peek(n);
    if (out) this.advance(n);
    return out;
  }

  /**
   * Exactly n bytes without consuming them (a parser looking at a header before it knows the
   * message length); or null when fewer are buffered. The bytes may share the pushed chunks' memory.
   */
  peek(n: number): Uint8Array | null {
    if (!Number.isInteger(n) || n < 0) throw new RangeError("read length must be a non-negative integer");
    if (n > this.size) return null;
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    // Fast path: inside one chunk, no copy.
    if (first.byteLength - this.head >= n) return first.subarray(this.head, this.head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.head;
    for (const chunk of this.chunks) {
      const take = Math.min(n - filled, chunk.byteLength - offset);
      out.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Drops up to n unread bytes (e.g. an over-long text not worth keeping); returns how many. */
  skip(n: number): number {
    const dropped = Math.min(n, this.size);
    this.advance(dropped);
    return dropped;
  }

  /** Big-endian unsigned 8/16/32-bit reads; null when not enough bytes yet. */
  readU8(): number | null {
    const b = this.read(1);
    return b ? b[0]! : null;
  }

  readU16(): number | null {
    const b = this.read(2);
    return b ? (b[0]! << 8) | b[1]! : null;
  }

  readU32(): number | null {
    const b = this.read(4);
    return b ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : null;
  }

  /** Everything unread, consumed (e.g. bytes that arrived after a handshake ended). */
  readAll(): Uint8Array {
    return this.read(this.size)!;
  }

  private advance(n: number): void {
    this.head += n;
    this.size -= n;
    while (this.chunks.length > 0 && this.head >= this.chunks[0]!.byteLength) {
      this.head -= this.chunks[0]!.byteLength;
      this.chunks.shift();
    }
  }
}
