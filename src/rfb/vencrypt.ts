/**
 * The client half of the RFB opening against a VeNCrypt server (QEMU with `vnc_tls=1`), up to
 * the point where TLS must start: version, security type 19, VeNCrypt 0.2, subtype 261
 * (X509VNC). Sans-I/O: feed it the server's bytes in any chunking, carry out the actions it
 * returns. The VNC authentication itself is not done here: it runs end to end between the
 * browser and the server inside TLS (see src/relay/vencrypt.ts).
 *
 * Byte flow: ../shared/spec/ovirt-protocol.md section 6; RFC 6143 7.1; VeNCrypt (rfbproto.rst
 * "VeNCrypt"). We answer the server "RFB 003.008" and require it to offer at least 3.8: older
 * versions have no reason string on failure, and QEMU always offers 3.8.
 */
import { printable } from "../printable.ts";
import { ByteReader, ReaderOverflowError } from "./reader.ts";
import {
  RFB_VERSION_3_8,
  RFB_VERSION_LENGTH,
  SECURITY_TYPE_VENCRYPT,
  VENCRYPT_SUBTYPE_X509VNC,
} from "./constants.ts";
import { readRfbVersion } from "./version.ts";

/** What the caller must do next, in order. `fail` and `done` are final. */
export type VencryptAction =
  | { kind: "send"; bytes: Uint8Array }
  | { kind: "startTls" }
  | { kind: "done"; serverVersion: string }
  | { kind: "fail"; reason: string };

/** VeNCrypt version we speak: 0.2 (the one with 4-byte subtypes; QEMU offers exactly this). */
export const VENCRYPT_VERSION = [0, 2] as const;

/** Longest server refusal reason we read; longer ones are cut off unread (we fail anyway). */
const MAX_REASON_LENGTH = 1024;
/** How much of a server's reason goes into our failure text (websocket close reasons are short). */
const MAX_REASON_SHOWN = 60;

type State =
  | { step: "version" }
  | { step: "security-count" }
  | { step: "security-types"; count: number }
  | { step: "reason-length" }
  | { step: "reason"; length: number }
  | { step: "vencrypt-version" }
  | { step: "vencrypt-ack" }
  | { step: "subtype-count" }
  | { step: "subtypes"; count: number }
  | { step: "subtype-accept" }
  | { step: "done" }
  | { step: "failed" };

const STEP_NAMES: Record<State["step"], string> = {
  version: "RFB version",
  "security-count": "security types",
  "security-types": "security types",
  "reason-length": "refusal reason",
  reason: "refusal reason",
  "vencrypt-version": "VeNCrypt version",
  "vencrypt-ack": "VeNCrypt version",
  "subtype-count": "VeNCrypt subtypes",
  subtypes: "VeNCrypt subtypes",
  "subtype-accept": "VeNCrypt subtype acceptance",
  done: "TLS",
  failed: "failed",
};

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Server text for a close frame and a log line: runs of blanks and control bytes fold to one space. */
function cleanReason(bytes: Uint8Array): string {
  return printable(latin1.decode(bytes).replace(/[\x00-\x20\x7f]+/g, " ").trim(), MAX_REASON_SHOWN);
}

function u32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/**
 * Runs the VeNCrypt/X509VNC opening as the client of a VNC server.
 *
 * @example
 * const hs = new VencryptHandshake();
 * for (const a of hs.feed(bytesFromServer)) { ... send / startTls / done / fail ... }
 */
export class VencryptHandshake {
  private readonly reader = new ByteReader(8 * 1024);
  private state: State = { step: "version" };
  private serverVersion = "";

  /** The step waiting for bytes, for "server closed during <step>" messages. */
  get step(): string {
    return STEP_NAMES[this.state.step];
  }

  /** True once done or failed: no more bytes are expected. */
  get finished(): boolean {
    return this.state.step === "done" || this.state.step === "failed";
  }

  /** Feeds bytes from the server; returns the actions to carry out, in order. */
  feed(chunk: Uint8Array): VencryptAction[] {
    if (this.state.step === "failed") return [];
    if (this.state.step === "done") {
      return chunk.byteLength > 0 ? this.fail("VeNCrypt: unexpected data before TLS") : [];
    }
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (err instanceof ReaderOverflowError) return this.fail("VNC server sent too much data");
      throw err;
    }
    const actions: VencryptAction[] = [];
    // Each step either waits (null, nothing consumed) or consumes and moves on: this ends.
    for (;;) {
      const out = this.step1();
      if (out === null) return actions;
      actions.push(...out);
      const now = this.current();
      if (now === "failed") return actions;
      if (now === "done") {
        // TLS starts with our ClientHello: a server that sends anything first is not VeNCrypt.
        if (this.reader.length === 0) return actions;
        return [...actions.filter((a) => a.kind === "send"), ...this.fail("VeNCrypt: unexpected data before TLS")];
      }
    }
  }

  /** The current step, read through a call so TypeScript does not keep a stale narrowing. */
  private current(): State["step"] {
    return this.state.step;
  }

  private fail(reason: string): VencryptAction[] {
    this.state = { step: "failed" };
    return [{ kind: "fail", reason }];
  }

  /** One step: null when it needs more bytes (nothing consumed), else its actions. */
  private step1(): VencryptAction[] | null {
    const r = this.reader;
    const st = this.state;
    switch (st.step) {
      case "version": {
        const b = r.read(RFB_VERSION_LENGTH);
        if (!b) return null;
        const version = readRfbVersion(b);
        if (version === null) return this.fail("VNC server did not send an RFB version");
        const { major, minor } = version;
        if (major !== 3 || minor < 8) {
          return this.fail(`VNC server speaks RFB ${major}.${minor}; VeNCrypt needs 3.8`);
        }
        this.serverVersion = String.fromCharCode(...b);
        this.state = { step: "security-count" };
        return [{ kind: "send", bytes: encoder.encode(RFB_VERSION_3_8) }];
      }
      case "security-count": {
        const n = r.readU8();
        if (n === null) return null;
        this.state = n === 0 ? { step: "reason-length" } : { step: "security-types", count: n };
        return [];
      }
      case "security-types": {
        const types = r.read(st.count);
        if (!types) return null;
        if (!types.includes(SECURITY_TYPE_VENCRYPT)) {
          return this.fail("VNC server does not offer TLS (VeNCrypt)");
        }
        this.state = { step: "vencrypt-version" };
        return [{ kind: "send", bytes: new Uint8Array([SECURITY_TYPE_VENCRYPT]) }];
      }
      case "reason-length": {
        const n = r.readU32();
        if (n === null) return null;
        if (n === 0 || n > MAX_REASON_LENGTH) return this.fail("VNC server refused the connection");
        this.state = { step: "reason", length: n };
        return [];
      }
      case "reason": {
        const b = r.read(st.length);
        if (!b) return null;
        const why = cleanReason(b);
        return this.fail(why ? `VNC server refused: ${why}` : "VNC server refused the connection");
      }
      case "vencrypt-version": {
        const b = r.read(2);
        if (!b) return null;
        const [major, minor] = [b[0]!, b[1]!];
        // The server names its highest version; we speak 0.2 and accept any 0.x >= 2.
        if (major !== VENCRYPT_VERSION[0] || minor < VENCRYPT_VERSION[1]) {
          return this.fail(`VeNCrypt: unsupported version ${major}.${minor}`);
        }
        this.state = { step: "vencrypt-ack" };
        return [{ kind: "send", bytes: new Uint8Array(VENCRYPT_VERSION) }];
      }
      case "vencrypt-ack": {
        const ack = r.readU8();
        if (ack === null) return null;
        if (ack !== 0) return this.fail("VeNCrypt: server rejected version 0.2");
        this.state = { step: "subtype-count" };
        return [];
      }
      case "subtype-count": {
        const n = r.readU8();
        if (n === null) return null;
        if (n === 0) return this.fail("VeNCrypt: server offers no subtypes");
        this.state = { step: "subtypes", count: n };
        return [];
      }
      case "subtypes": {
        const b = r.read(st.count * 4);
        if (!b) return null;
        const subtypes: number[] = [];
        for (let i = 0; i < b.length; i += 4) {
          subtypes.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
        }
        if (!subtypes.includes(VENCRYPT_SUBTYPE_X509VNC)) {
          // A websocket close reason holds at most 123 bytes: list a few, never all 255.
          const shown = subtypes.slice(0, 4).join(",") + (subtypes.length > 4 ? ",..." : "");
          return this.fail(`VeNCrypt: server lacks X509VNC (offers ${shown})`);
        }
        this.state = { step: "subtype-accept" };
        return [{ kind: "send", bytes: u32(VENCRYPT_SUBTYPE_X509VNC) }];
      }
      case "subtype-accept": {
        const ok = r.readU8();
        if (ok === null) return null;
        if (ok !== 1) return this.fail("VeNCrypt: server rejected X509VNC");
        this.state = { step: "done" };
        return [{ kind: "startTls" }, { kind: "done", serverVersion: this.serverVersion }];
      }
      case "done":
      case "failed":
        return null;
    }
  }
}
