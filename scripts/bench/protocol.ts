/**
 * The tiny line protocol between the bench client and its servers (the TCP target and the bare
 * wss ceiling). The client's first bytes name what it wants, so one target port serves every
 * test and a relay in between (novnc-proxy, websockify) only ever sees opaque bytes.
 *
 *   down N\n   server streams N bytes in 64 KiB writes, honouring backpressure
 *   up N\n     server sinks N bytes, then answers one byte ("K")
 *   echo\n     server echoes every byte
 *   idle\n     server holds the connection and does nothing
 */

/** Write size of the streaming servers (a VNC server's framebuffer updates come in big writes). */
export const STREAM_CHUNK = 64 * 1024;

/** The byte the sink answers once it has all of an upload. */
export const ACK = 0x4b;

export type Command =
  | { kind: "down"; bytes: number }
  | { kind: "up"; bytes: number }
  | { kind: "echo" }
  | { kind: "idle" };

/** The command line for `cmd`, as the client sends it. */
export function encodeCommand(cmd: Command): Uint8Array {
  const text = cmd.kind === "down" || cmd.kind === "up" ? `${cmd.kind} ${cmd.bytes}\n` : `${cmd.kind}\n`;
  return new TextEncoder().encode(text);
}

/**
 * Takes the command off the front of what a server received so far.
 *
 * @returns null while the line is incomplete; the command and the bytes after it otherwise
 * @throws Error for a malformed or over-long line
 */
export function parseCommand(buf: Uint8Array): { cmd: Command; rest: Uint8Array } | null {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) {
    if (buf.byteLength > 64) throw new Error("command line too long");
    return null;
  }
  const line = new TextDecoder().decode(buf.subarray(0, nl));
  const rest = buf.subarray(nl + 1);
  const m = /^(down|up|echo|idle)(?: (\d{1,15}))?$/.exec(line);
  if (!m) throw new Error(`bad command ${JSON.stringify(line.slice(0, 20))}`);
  const kind = m[1] as Command["kind"];
  if (kind === "down" || kind === "up") {
    if (!m[2]) throw new Error(`${kind} needs a byte count`);
    return { cmd: { kind, bytes: Number(m[2]) }, rest };
  }
  return { cmd: { kind }, rest };
}

/** Joins two byte arrays (command lines arrive split rarely; this is not a hot path). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** One 64 KiB block of incompressible bytes, shared by every stream. */
export function streamBlock(): Uint8Array {
  const block = new Uint8Array(STREAM_CHUNK);
  crypto.getRandomValues(block.subarray(0, 65536));
  return block;
}
