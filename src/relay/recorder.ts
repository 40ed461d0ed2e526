/**
 * Optional session recording (`serve --record DIR`), for debugging a console that misbehaves.
 * One file per session, created with mode 0600 (it holds keystrokes and the VNC auth exchange):
 * a JSON header line, then records of [direction u8: 0 = browser->VNC, 1 = VNC->browser]
 * [milliseconds since start u32 BE][length u32 BE][bytes]. Writes go through Bun's buffered
 * file sink; a recording that fails to write is dropped, never the session.
 */
import { openSync, closeSync } from "node:fs";
import { join } from "node:path";
import type { FileSink } from "bun";

export const DIRECTION_UP = 0;
export const DIRECTION_DOWN = 1;

export class Recorder {
  private sink: FileSink | null;
  private readonly t0 = performance.now();
  readonly file: string;

  constructor(dir: string, sessionId: string, header: Record<string, unknown>) {
    this.file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${sessionId}.rec`);
    // Create it 0600 before anything is written; Bun's writer then appends to it.
    closeSync(openSync(this.file, "wx", 0o600));
    this.sink = Bun.file(this.file).writer({ highWaterMark: 256 * 1024 });
    this.sink.write(JSON.stringify({ format: "novnc-proxy-record/1", ...header }) + "\n");
  }

  write(direction: number, bytes: Uint8Array): void {
    if (!this.sink) return;
    const head = new Uint8Array(9);
    const view = new DataView(head.buffer);
    head[0] = direction;
    view.setUint32(1, Math.min(0xffffffff, Math.round(performance.now() - this.t0)));
    view.setUint32(5, bytes.byteLength);
    try {
      this.sink.write(head);
      this.sink.write(bytes);
    } catch {
      this.sink = null;
    }
  }

  close(): void {
    const s = this.sink;
    this.sink = null;
    if (s) void Promise.resolve(s.end()).catch(() => {});
  }
}

/** Splits a recording back into its header and records (for tests and tools). */
export function parseRecording(data: Uint8Array): { header: Record<string, unknown>; records: Array<{ direction: number; ms: number; bytes: Uint8Array }> } {
  const nl = data.indexOf(10);
  const header = JSON.parse(new TextDecoder().decode(data.subarray(0, nl)));
  const records: Array<{ direction: number; ms: number; bytes: Uint8Array }> = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = nl + 1;
  while (off + 9 <= data.length) {
    const len = view.getUint32(off + 5);
    records.push({ direction: data[off]!, ms: view.getUint32(off + 1), bytes: data.subarray(off + 9, off + 9 + len) });
    off += 9 + len;
  }
  return { header, records };
}
