/**
 * One direction of a session: bytes from a source are written to a sink; what the sink cannot
 * take now is held (a copy, since the source may reuse its buffer) and the source is paused until
 * the sink drains. Bytes are never dropped or reordered, and what is held is bounded by what the
 * source had already read when it was paused. No Bun types: a TCP socket, a TLS stream, Bun's
 * ServerWebSocket (through a one-line adapter) or a test fake all fit `Sink` and `Source`.
 */

/** `Sink.write`: the sink is closed; the bytes are gone (its close event ends the session). */
export const WRITE_CLOSED = -1;
/** `Sink.write`: everything was taken, but the sink is over its limit: pause until its drain. */
export const WRITE_FULL = -2;

/** Where a pump writes. */
export interface Sink {
  /** Bytes taken now (0..length; fewer = hold the rest), WRITE_FULL or WRITE_CLOSED. */
  write(bytes: Uint8Array): number;
}

/** Where a pump's bytes come from; paused while the sink is behind. */
export interface Source {
  pause(): void;
  resume(): void;
}

export class Pump {
  private held: Uint8Array[] = [];
  private sourcePaused: boolean;

  /**
   * @param source paused while the sink is behind
   * @param sink null until the far side exists (bytes are held and the source paused meanwhile)
   * @param startPaused the caller already paused the source; `drain` resumes it
   */
  constructor(
    private readonly source: Source,
    private sink: Sink | null = null,
    startPaused = false,
  ) {
    this.sourcePaused = startPaused;
  }

  /** Bytes waiting for the sink. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  /** Bytes from the source. The hot path: one `write` call when nothing is held. */
  push(bytes: Uint8Array): void {
    if (this.held.length > 0 || this.sink === null) {
      this.held.push(bytes.slice());
      this.pauseSource();
      return;
    }
    const n = this.sink.write(bytes);
    if (n === bytes.byteLength || n === WRITE_CLOSED) return;
    if (n !== WRITE_FULL) this.held.push(bytes.slice(n));
    this.pauseSource();
  }

  /** The far side now exists: flush what was held meanwhile (then the source resumes). */
  attach(sink: Sink): boolean {
    this.sink = sink;
    return this.drain();
  }

  /**
   * The sink can take more: write what is held, in order; resume the source once all is out.
   * @returns true when nothing is held any more
   */
  drain(): boolean {
    const sink = this.sink;
    if (sink === null) return false;
    while (this.held.length > 0) {
      const head = this.held[0]!;
      const n = sink.write(head);
      if (n === WRITE_CLOSED) return false;
      if (n === WRITE_FULL) {
        this.held.shift();
        return false;
      }
      if (n < head.byteLength) {
        this.held[0] = head.subarray(n);
        return false;
      }
      this.held.shift();
    }
    if (this.sourcePaused) {
      this.sourcePaused = false;
      this.source.resume();
    }
    return true;
  }

  /** The session is over: drop what is held. */
  clear(): void {
    this.held.length = 0;
  }

  private pauseSource(): void {
    if (!this.sourcePaused) {
      this.sourcePaused = true;
      this.source.pause();
    }
  }
}
