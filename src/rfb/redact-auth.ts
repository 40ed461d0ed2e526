/**
 * Finds the secrets of the RFB opening in a recorded byte stream, so a session recording never
 * holds them: the 16-byte VNC authentication challenge (server -> client) and the 16-byte
 * response (client -> server), which together allow an offline guess of the VNC password.
 *
 * Fed the two directions as the browser sees them, in the order they happened, it returns each
 * chunk with those bytes replaced by zeros (a copy; the relayed bytes are never touched).
 * A security type whose credentials it cannot find (anything but None and VNC authentication,
 * e.g. VeNCrypt Plain, which sends a password in the clear) or an opening it cannot read makes
 * it answer "unsafe": the recorder then stops. After authentication every byte passes as is.
 * Pure: no I/O.
 */
import {
  RFB_VERSION_LENGTH,
  SECURITY_TYPE_INVALID,
  SECURITY_TYPE_NONE,
  SECURITY_TYPE_VNC_AUTH,
  VNC_AUTH_CHALLENGE_LENGTH,
} from "./constants.ts";
import { readRfbVersion } from "./version.ts";

export type RedactResult = { kind: "bytes"; bytes: Uint8Array } | { kind: "unsafe"; reason: string };

type DownStep = "version" | "type33" | "count" | "types" | "after-types" | "challenge" | "done";
type UpStep = "version" | "choice" | "response" | "done";

export class VncAuthRedactor {
  /** Whether any byte has been replaced so far. */
  redacted = false;
  private down: { step: DownStep; buf: number[]; left: number } = { step: "version", buf: [], left: RFB_VERSION_LENGTH };
  private up: { step: UpStep; buf: number[]; left: number } = { step: "version", buf: [], left: RFB_VERSION_LENGTH };
  private serverMinor = 0;
  /** The client's version reply decides the security message's shape (3.3: one u32). */
  private clientMinor = 0;
  private offered: number[] = [];
  /** The type in use: chosen by the client (3.7+) or imposed by the server (3.3); null = not yet. */
  private type: number | null = null;
  private unsafe: string | null = null;

  /** Whether nothing more can be secret: both directions are past authentication. */
  get done(): boolean {
    return this.down.step === "done" && this.up.step === "done";
  }

  /** VNC server -> browser bytes. */
  fromServer(bytes: Uint8Array): RedactResult {
    return this.feed(bytes, (b, i, out) => this.downByte(b, i, out));
  }

  /** Browser -> VNC server bytes. */
  fromClient(bytes: Uint8Array): RedactResult {
    return this.feed(bytes, (b, i, out) => this.upByte(b, i, out));
  }

  private feed(bytes: Uint8Array, step: (b: number, i: number, out: { copy: Uint8Array | null; src: Uint8Array }) => void): RedactResult {
    if (this.unsafe) return { kind: "unsafe", reason: this.unsafe };
    const out = { copy: null as Uint8Array | null, src: bytes };
    for (let i = 0; i < bytes.length; i++) {
      if (this.done) break;
      step(bytes[i]!, i, out);
      if (this.unsafe) return { kind: "unsafe", reason: this.unsafe };
    }
    return { kind: "bytes", bytes: out.copy ?? bytes };
  }

  private zero(i: number, out: { copy: Uint8Array | null; src: Uint8Array }): void {
    // A copy even for a Buffer (whose slice() is a view onto the relayed bytes).
    out.copy ??= new Uint8Array(out.src);
    out.copy[i] = 0;
    this.redacted = true;
  }

  private fail(reason: string): void {
    this.unsafe = reason;
  }

  /** One byte of a side's version line: its minor once the line is whole, else null (more to come, or failed). */
  private versionByte(side: { buf: number[]; left: number }, b: number, from: "server" | "client"): number | null {
    side.buf.push(b);
    if (--side.left > 0) return null;
    const minor = minorOf(side.buf);
    side.buf = [];
    if (minor >= 0) return minor;
    this.fail(`unreadable RFB version from the ${from}`);
    return null;
  }

  private downByte(b: number, i: number, out: { copy: Uint8Array | null; src: Uint8Array }): void {
    const d = this.down;
    switch (d.step) {
      case "version": {
        const minor = this.versionByte(d, b, "server");
        if (minor === null) return;
        this.serverMinor = minor;
        return this.nextSecurityStep();
      }
      case "type33":
        d.buf.push(b);
        if (--d.left > 0) return;
        this.type = ((d.buf[0]! << 24) | (d.buf[1]! << 16) | (d.buf[2]! << 8) | d.buf[3]!) >>> 0;
        d.buf = [];
        return this.afterType();
      case "count":
        if (b === 0) {
          d.step = "done"; // a refusal: a reason string follows, nothing secret
          this.up.step = "done";
          return;
        }
        d.step = "types";
        d.left = b;
        this.offered = [];
        return;
      case "types":
        this.offered.push(b);
        if (--d.left > 0) return;
        d.step = "after-types";
        return;
      case "after-types":
        // The server speaks again only after the client chose; VeNCrypt termination is the
        // exception (its challenge may come first), so an unknown choice with VNC auth on
        // offer is taken as VNC auth: zeroing 16 harmless bytes is the safe mistake.
        if (this.type === null && !this.offered.includes(SECURITY_TYPE_VNC_AUTH)) {
          d.step = "done";
          return;
        }
        if (this.type !== null && this.type !== SECURITY_TYPE_VNC_AUTH) {
          d.step = "done";
          return;
        }
        d.step = "challenge";
        d.left = VNC_AUTH_CHALLENGE_LENGTH;
        return this.downByte(b, i, out);
      case "challenge":
        this.zero(i, out);
        if (--d.left === 0) d.step = "done";
        return;
      case "done":
        return;
    }
  }

  /** After the server's version: 3.3 (as the client replied) imposes a type, 3.7+ lists them. */
  private nextSecurityStep(): void {
    const d = this.down;
    const minor = this.clientMinor > 0 ? Math.min(this.clientMinor, this.serverMinor) : this.serverMinor;
    if (minor < 7) {
      d.step = "type33";
      d.left = 4;
    } else {
      d.step = "count";
    }
  }

  /** The security type is known (3.3: from the server); what follows on each side. */
  private afterType(): void {
    const t = this.type!;
    if (t === SECURITY_TYPE_VNC_AUTH) {
      this.down.step = "challenge";
      this.down.left = VNC_AUTH_CHALLENGE_LENGTH;
      if (this.up.step === "choice") {
        this.up.step = "response";
        this.up.left = VNC_AUTH_CHALLENGE_LENGTH;
      }
      return;
    }
    if (t === SECURITY_TYPE_NONE || t === SECURITY_TYPE_INVALID) {
      this.down.step = "done";
      this.up.step = "done";
      return;
    }
    this.fail(`security type ${t} cannot be redacted`);
  }

  private upByte(b: number, i: number, out: { copy: Uint8Array | null; src: Uint8Array }): void {
    const u = this.up;
    switch (u.step) {
      case "version": {
        const minor = this.versionByte(u, b, "client");
        if (minor === null) return;
        this.clientMinor = minor;
        if (this.down.step === "type33" || this.down.step === "count") this.nextSecurityStep();
        if (this.clientMinor < 7) {
          // 3.3: the client sends nothing more until the server's type; VNC auth then needs a response.
          if (this.type === SECURITY_TYPE_VNC_AUTH || this.type === null) {
            u.step = "response";
            u.left = VNC_AUTH_CHALLENGE_LENGTH;
          } else u.step = "done";
        } else u.step = "choice";
        return;
      }
      case "choice":
        this.type = b;
        if (b === SECURITY_TYPE_VNC_AUTH) {
          u.step = "response";
          u.left = VNC_AUTH_CHALLENGE_LENGTH;
        } else if (b === SECURITY_TYPE_NONE) {
          u.step = "done";
          if (this.down.step === "after-types") this.down.step = "done";
        } else this.fail(`security type ${b} cannot be redacted`);
        return;
      case "response":
        this.zero(i, out);
        if (--u.left === 0) u.step = "done";
        return;
      case "done":
        return;
    }
  }
}

/** The minor version of an `RFB 003.00N\n` line, or -1. Apple's 3.889 counts as 3.8. */
function minorOf(line: number[]): number {
  const v = readRfbVersion(line);
  if (v === null || v.major !== 3) return -1;
  return v.minor >= 8 ? 8 : v.minor;
}
