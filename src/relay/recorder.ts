/**
 * Optional session recording (`serve --record DIR`), for debugging a console that misbehaves.
 * One file per admitted session, created with mode 0600 (it holds keystrokes): a JSON header
 * line, then records of [direction u8: 0 = browser->VNC, 1 = VNC->browser, 2 = marker]
 * [milliseconds since start u32 BE][length u32 BE][bytes]; a marker's bytes are an ASCII note.
 *
 * The bytes are those the browser sent and saw. The VNC authentication challenge and response
 * are replaced by zeros (the header says `"redacted": "vnc-auth"`, a marker says when it
 * happened); a security type whose credentials cannot be found stops the recording. Past
 * `maxBytes` the recording stops with a marker; the session goes on. Writes go through Bun's
 * buffered file sink; a recording that fails to write is dropped, never the session.
 */
import { openSync, closeSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";
import { VncAuthRedactor } from "../rfb/redact-auth.ts";

export const DIRECTION_UP = 0;
export const DIRECTION_DOWN = 1;
export const DIRECTION_MARKER = 2;

/** Record framing: direction, milliseconds, length. */
const RECORD_HEAD = 9;
const RECORDING_SUFFIX = ".rec";

export class Recorder {
  private sink: FileSink | null;
  private readonly t0 = performance.now();
  private readonly redactor = new VncAuthRedactor();
  private written = 0;
  readonly file: string;

  /**
   * @param maxBytes size the file may reach, header and markers included.
   * @param budget the folder's budget, told of every byte written.
   */
  constructor(
    dir: string,
    sessionId: string,
    header: Record<string, unknown>,
    private readonly maxBytes: number,
    private readonly budget: RecordingsBudget | null = null,
  ) {
    this.file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${sessionId}${RECORDING_SUFFIX}`);
    // Create it 0600 before anything is written; Bun's writer then appends to it.
    closeSync(openSync(this.file, "wx", 0o600));
    this.sink = Bun.file(this.file).writer({ highWaterMark: 256 * 1024 });
    const line = new TextEncoder().encode(JSON.stringify({ format: "novnc-proxy-record/1", redacted: "vnc-auth", maxBytes, ...header }) + "\n");
    this.append(line);
  }

  write(direction: typeof DIRECTION_UP | typeof DIRECTION_DOWN, bytes: Uint8Array): void {
    if (!this.sink) return;
    let out = bytes;
    if (!this.redactor.done) {
      const wasRedacted = this.redactor.redacted;
      const r = direction === DIRECTION_UP ? this.redactor.fromClient(bytes) : this.redactor.fromServer(bytes);
      if (r.kind === "unsafe") {
        this.stop(`recording stopped: ${r.reason}`);
        return;
      }
      out = r.bytes;
      if (!wasRedacted && this.redactor.redacted) this.record(DIRECTION_MARKER, note("redacted: VNC authentication challenge and response replaced by zeros"));
    }
    this.record(direction, out);
  }

  /** Writes one record, or the size marker and stops when it would not fit under maxBytes. */
  private record(direction: number, bytes: Uint8Array): void {
    if (!this.sink) return;
    if (this.written + RECORD_HEAD + bytes.byteLength > this.maxBytes - MARKER_RESERVE) {
      this.stop(`recording stopped: --record-max-bytes ${this.maxBytes} reached`);
      return;
    }
    this.frame(direction, bytes);
  }

  private frame(direction: number, bytes: Uint8Array): void {
    const head = new Uint8Array(RECORD_HEAD);
    const view = new DataView(head.buffer);
    head[0] = direction;
    view.setUint32(1, Math.min(0xffffffff, Math.round(performance.now() - this.t0)));
    view.setUint32(5, bytes.byteLength);
    this.append(head);
    this.append(bytes);
  }

  private append(bytes: Uint8Array): void {
    if (!this.sink) return;
    try {
      this.sink.write(bytes);
      this.written += bytes.byteLength;
      this.budget?.add(bytes.byteLength);
    } catch {
      this.sink = null;
    }
  }

  /** Ends the recording with a marker saying why; the session is not affected. */
  private stop(why: string): void {
    this.frame(DIRECTION_MARKER, note(why));
    this.close();
  }

  close(): void {
    const s = this.sink;
    this.sink = null;
    if (s) void Promise.resolve(s.end()).catch(() => {});
  }
}

/** Room kept under maxBytes for the final marker. */
const MARKER_RESERVE = RECORD_HEAD + 80;

const note = (text: string): Uint8Array => new TextEncoder().encode(text.slice(0, 80));

/** Bytes of recordings (`*.rec`) in a folder: what `--record-max-total` is checked against. */
export function recordingsSize(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(RECORDING_SUFFIX)) continue;
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

/**
 * What `--record-max-total` is checked against: the folder's recording bytes, scanned at most once
 * a `rescanMs` (a scan stats every file, too slow for each session open in a full folder), plus
 * what this process's recorders wrote since that scan. Files removed meanwhile count until the
 * next scan, so the cap errs on the side of recording less.
 */
export class RecordingsBudget {
  private scanned = 0;
  private writtenSince = 0;
  private scannedAt = -Infinity;

  constructor(
    readonly dir: string,
    private readonly rescanMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Bytes the folder's recordings take (throws what readdir throws). */
  used(): number {
    if (this.now() - this.scannedAt >= this.rescanMs) {
      this.scanned = recordingsSize(this.dir);
      this.writtenSince = 0;
      this.scannedAt = this.now();
    }
    return this.scanned + this.writtenSince;
  }

  add(bytes: number): void {
    this.writtenSince += bytes;
  }
}

/** Splits a recording back into its header and records (for tests and tools). */
export function parseRecording(data: Uint8Array): { header: Record<string, unknown>; records: Array<{ direction: number; ms: number; bytes: Uint8Array }> } {
  const nl = data.indexOf(10);
  const header = JSON.parse(new TextDecoder().decode(data.subarray(0, nl)));
  const records: Array<{ direction: number; ms: number; bytes: Uint8Array }> = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = nl + 1;
  while (off + RECORD_HEAD <= data.length) {
    const len = view.getUint32(off + 5);
    records.push({ direction: data[off]!, ms: view.getUint32(off + 1), bytes: data.subarray(off + RECORD_HEAD, off + RECORD_HEAD + len) });
    off += RECORD_HEAD + len;
  }
  return { header, records };
}
