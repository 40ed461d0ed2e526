/**
 * A small RFB 3.8 server (VNC authentication) that logs everything a client sends after the
 * handshake, and the ClientInit shared flag, for tests that check what a relay let through. It
 * answers each FramebufferUpdateRequest with a 1x1 Raw update, so a test can see updates flow.
 */
import type { Socket, TCPSocketListener } from "bun";
import { randomBytes } from "node:crypto";
import { vncAuthResponse } from "../../src/rfb/des.ts";

export interface LoggingVncServer {
  port: number;
  /** ClientInit shared flags received, one per client. */
  sharedFlags: number[];
  /** Every byte clients sent after ClientInit, in order (all clients). */
  received: number[];
  /** Client message types received, as far as this server could size them. */
  types(): number[];
  stop(): void;
}

/** Sizes of the messages the tests send (RFC 6143 7.5 and QEMU's extended key event). */
function sizeOf(b: number[], at: number): number {
  const t = b[at]!;
  switch (t) {
    case 0:
      return 20;
    case 2:
      return 4 + 4 * ((b[at + 2]! << 8) | b[at + 3]!);
    case 3:
      return 10;
    case 4:
      return 8;
    case 5:
      return 6;
    case 6:
      return 8 + ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!);
    case 255:
      return 12;
    default:
      return 1;
  }
}

const UPDATE = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);

interface Conn {
  stage: "version" | "type" | "auth" | "init" | "messages";
  buf: number[];
  challenge: Uint8Array;
  /** This client's bytes after ClientInit, and how far they have been parsed. */
  log: number[];
  parsed: number;
}

export async function startLoggingVncServer(password: string): Promise<LoggingVncServer> {
  const state = { sharedFlags: [] as number[], received: [] as number[] };
  const server: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(s) {
        s.data = { stage: "version", buf: [], challenge: randomBytes(16), log: [], parsed: 0 };
        s.write("RFB 003.008\n");
      },
      data(s: Socket<Conn>, bytes) {
        const c = s.data;
        c.buf.push(...bytes);
        for (;;) {
          if (c.stage === "version" && c.buf.length >= 12) {
            c.buf.splice(0, 12);
            s.write(Uint8Array.of(1, 2));
            c.stage = "type";
          } else if (c.stage === "type" && c.buf.length >= 1) {
            c.buf.splice(0, 1);
            s.write(c.challenge);
            c.stage = "auth";
          } else if (c.stage === "auth" && c.buf.length >= 16) {
            const got = Uint8Array.from(c.buf.splice(0, 16));
            const ok = Buffer.from(got).equals(Buffer.from(vncAuthResponse(c.challenge, password)));
            s.write(Uint8Array.of(0, 0, 0, ok ? 0 : 1));
            if (!ok) return void s.end();
            c.stage = "init";
          } else if (c.stage === "init" && c.buf.length >= 1) {
            state.sharedFlags.push(c.buf.splice(0, 1)[0]!);
            const name = new TextEncoder().encode("logger");
            const init = new Uint8Array(24 + name.length);
            const v = new DataView(init.buffer);
            v.setUint16(0, 1);
            v.setUint16(2, 1);
            init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 4);
            v.setUint32(20, name.length);
            init.set(name, 24);
            s.write(init);
            c.stage = "messages";
          } else if (c.stage === "messages" && c.buf.length > 0) {
            const bytes = c.buf.splice(0);
            state.received.push(...bytes);
            c.log.push(...bytes);
            // Answer each whole FramebufferUpdateRequest once.
            while (c.parsed < c.log.length) {
              const n = sizeOf(c.log, c.parsed);
              if (c.parsed + n > c.log.length) break;
              if (c.log[c.parsed] === 3) s.write(UPDATE);
              c.parsed += n;
            }
          } else {
            return;
          }
        }
      },
      error() {},
    },
  });
  return {
    port: server.port,
    sharedFlags: state.sharedFlags,
    received: state.received,
    types() {
      const out: number[] = [];
      for (let at = 0; at < state.received.length; at += sizeOf(state.received, at)) out.push(state.received[at]!);
      return out;
    },
    stop: () => server.stop(true),
  };
}
