/**
 * Server-enforced view-only, on the browser -> VNC path. It follows the browser's RFB stream
 * (version, security type, the VNC-auth response, ClientInit, then every client message),
 * passes only messages that do not act on the VM (SetPixelFormat, SetEncodings,
 * FramebufferUpdateRequest, EnableContinuousUpdates, ClientFence), drops input (key, pointer,
 * clipboard, QEMU extended key and audio, XVP power, SetDesktopSize) and fails with 1008 on a
 * message it cannot size, since it could not tell where the next one starts. ClientInit's shared
 * flag is forced to 1 so a viewer never disconnects the person at the console. The VNC
 * authentication itself passes untouched (it runs end to end).
 *
 * Only view-only sessions pay for this parsing; message bodies are passed or skipped as ranges,
 * and a chunk made only of passed messages is returned as it came (no copy).
 */
import { CLOSE } from "../close.ts";
import {
  CLIENT_CUT_TEXT,
  CLIENT_ENABLE_CONTINUOUS_UPDATES,
  CLIENT_FENCE,
  CLIENT_FRAMEBUFFER_UPDATE_REQUEST,
  CLIENT_KEY_EVENT,
  CLIENT_POINTER_EVENT,
  CLIENT_QEMU,
  CLIENT_SET_DESKTOP_SIZE,
  CLIENT_SET_ENCODINGS,
  CLIENT_SET_PIXEL_FORMAT,
  CLIENT_XVP,
  PIXEL_FORMAT_LENGTH,
  QEMU_AUDIO,
  QEMU_EXTENDED_KEY_EVENT,
  RFB_VERSION_LENGTH,
  SECURITY_TYPE_NONE,
  SECURITY_TYPE_VNC_AUTH,
  VNC_AUTH_CHALLENGE_LENGTH,
} from "../../rfb/constants.ts";
import { readRfbVersion } from "../../rfb/version.ts";
import { EMPTY, type Stage, type StageFailure } from "./stage.ts";

const enum Phase {
  Version,
  SecurityType,
  Auth,
  ClientInit,
  Messages,
}

const enum Action {
  Pass,
  Drop,
  /** ClientInit with shared = 0: replaced by shared = 1. */
  Share,
}

const NEED_MORE = -1;
const FAILED = -2;
const SHARED = new Uint8Array([1]);

export class ViewOnlyFilter implements Stage {
  /** Never done: every message of a view-only session is judged. */
  readonly done = false;
  /** Input messages dropped so far (for /metrics). */
  dropped = 0;

  private phase = Phase.Version;
  /** The current unit's first bytes, until it can be sized. */
  private hdr = new Uint8Array(16);
  private hdrLen = 0;
  private action = Action.Pass;
  /** Bytes of the current unit still to pass or to skip. */
  private passLeft = 0;
  private skipLeft = 0;
  private failure: StageFailure | null = null;

  feed(bytes: Uint8Array): Uint8Array | StageFailure {
    if (this.failure) return this.failure;
    const n = bytes.byteLength;
    let out: Uint8Array[] | null = null;
    const emit = (piece: Uint8Array): void => {
      if (piece.byteLength > 0) (out ??= []).push(piece);
    };
    let runStart = 0;
    let i = 0;
    /** Where the unit being read started in this chunk (0 if it started in an earlier one). */
    let unitStart = 0;
    while (i < n) {
      if (this.skipLeft > 0) {
        const k = Math.min(this.skipLeft, n - i);
        this.skipLeft -= k;
        i += k;
        runStart = i;
        continue;
      }
      if (this.passLeft > 0) {
        const k = Math.min(this.passLeft, n - i);
        this.passLeft -= k;
        i += k;
        continue;
      }
      if (this.hdrLen === 0) unitStart = i;
      const carried = this.hdrLen - (i - unitStart);
      this.hdr[this.hdrLen++] = bytes[i++]!;
      const total = this.judge();
      if (total === NEED_MORE) continue;
      if (total === FAILED) return this.failure!;
      const fromEarlier = this.hdr.subarray(0, carried);
      const read = this.hdrLen;
      this.hdrLen = 0;
      if (this.action === Action.Pass) {
        // Bytes of this unit from earlier chunks go out first; the run then continues from here.
        if (carried > 0) emit(fromEarlier.slice());
        this.passLeft = total - read;
      } else if (this.action === Action.Drop) {
        emit(bytes.subarray(runStart, unitStart));
        this.skipLeft = total - read;
        runStart = i;
        this.dropped++;
      } else {
        emit(bytes.subarray(runStart, unitStart));
        emit(SHARED);
        runStart = i;
      }
    }
    // An undecided unit's bytes wait in `hdr`: the run ends where it started.
    const end = this.hdrLen > 0 ? unitStart : n;
    if (runStart === 0 && end === n && out === null) return bytes;
    emit(bytes.subarray(runStart, end));
    if (out === null) return EMPTY;
    const parts: Uint8Array[] = out;
    if (parts.length === 1) return parts[0]!;
    const joined = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.byteLength;
    }
    return joined;
  }

  private fail(reason: string): number {
    this.failure = { fail: true, code: CLOSE.POLICY, reason, outcome: "protocol_error" };
    return FAILED;
  }

  /** The current unit's total length once its first bytes say it (and what to do with it). */
  private judge(): number {
    const h = this.hdr;
    const len = this.hdrLen;
    this.action = Action.Pass;
    switch (this.phase) {
      case Phase.Version: {
        if (len < RFB_VERSION_LENGTH) return NEED_MORE;
        const version = readRfbVersion(h.subarray(0, RFB_VERSION_LENGTH));
        if (version === null) return this.fail("View-only: not an RFB client");
        if (version.major === 3 && version.minor < 7) return this.fail("View-only needs RFB 3.7 or later");
        this.phase = Phase.SecurityType;
        return RFB_VERSION_LENGTH;
      }
      case Phase.SecurityType:
        if (h[0] === SECURITY_TYPE_NONE) this.phase = Phase.ClientInit;
        else if (h[0] === SECURITY_TYPE_VNC_AUTH) this.phase = Phase.Auth;
        else return this.fail(`View-only: security type ${h[0]} not supported`);
        return 1;
      case Phase.Auth:
        this.phase = Phase.ClientInit;
        return VNC_AUTH_CHALLENGE_LENGTH;
      case Phase.ClientInit:
        this.phase = Phase.Messages;
        if (h[0] !== 1) this.action = Action.Share;
        return 1;
      case Phase.Messages:
        return this.sizeMessage(h, len);
    }
  }

  /** Client message sizes (RFC 6143 7.5 and the extensions noVNC uses). */
  private sizeMessage(h: Uint8Array, len: number): number {
    const type = h[0]!;
    const u16 = (at: number) => (h[at]! << 8) | h[at + 1]!;
    switch (type) {
      case CLIENT_SET_PIXEL_FORMAT:
        return 4 + PIXEL_FORMAT_LENGTH;
      case CLIENT_SET_ENCODINGS:
        return len < 4 ? NEED_MORE : 4 + 4 * u16(2);
      case CLIENT_FRAMEBUFFER_UPDATE_REQUEST:
      case CLIENT_ENABLE_CONTINUOUS_UPDATES:
        return 10;
      case CLIENT_FENCE:
        return len < 9 ? NEED_MORE : 9 + h[8]!;
    }
    this.action = Action.Drop;
    switch (type) {
      case CLIENT_KEY_EVENT:
        return 8;
      case CLIENT_POINTER_EVENT:
        return 6;
      case CLIENT_CUT_TEXT: {
        if (len < 8) return NEED_MORE;
        // A negative length is the extended clipboard's (its absolute value is the size).
        const length = new DataView(h.buffer, h.byteOffset + 4, 4).getInt32(0);
        return 8 + Math.abs(length);
      }
      case CLIENT_XVP:
        return 4;
      case CLIENT_SET_DESKTOP_SIZE:
        return len < 8 ? NEED_MORE : 8 + 16 * h[6]!;
      case CLIENT_QEMU: {
        if (len < 2) return NEED_MORE;
        if (h[1] === QEMU_EXTENDED_KEY_EVENT) return 12;
        if (h[1] === QEMU_AUDIO) {
          if (len < 4) return NEED_MORE;
          const op = u16(2);
          if (op === 0 || op === 1) return 4;
          if (op === 2) return 10;
        }
        return this.fail(`View-only: unknown QEMU client message ${h[1]}`);
      }
    }
    return this.fail(`View-only: unknown client message type ${type}`);
  }
}
