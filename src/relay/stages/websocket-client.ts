/**
 * The client side of RFC 6455, sans I/O, for websocket targets (KubeVirt VNC): the upgrade
 * request with KubeVirt's subprotocols, the check of the answer, masked frames out, and a frame
 * decoder for what the target sends (binary payloads, pings to answer, its close). The connector
 * (src/relay/websocket-target.ts) does the socket I/O around it.
 */
import { createHash, randomBytes } from "node:crypto";

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** KubeVirt's subprotocols (oVirt's `_kubevirt_socket`). */
export const KUBEVIRT_PLAIN = "plain.kubevirt.io";
export const KUBEVIRT_BEARER_PREFIX = "base64url.bearer.authorization.k8s.io.";

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

/** The most a target's upgrade answer may take before its blank line. */
export const MAX_RESPONSE_HEAD = 16 * 1024;
/** The largest frame accepted from a target (a framebuffer update is far smaller). */
export const MAX_TARGET_FRAME = 64 * 1024 * 1024;

/** Subprotocols offered for a ticket's token: bearer (when there is a token) and plain. */
export function kubevirtProtocols(token: string | null): string[] {
  const plain = [KUBEVIRT_PLAIN];
  if (token === null) return plain;
  return [KUBEVIRT_BEARER_PREFIX + Buffer.from(token, "utf8").toString("base64url"), ...plain];
}

/** A fresh Sec-WebSocket-Key and the accept value the target must answer with. */
export function newKey(random: Uint8Array = randomBytes(16)): { key: string; accept: string } {
  const key = Buffer.from(random).toString("base64");
  return { key, accept: acceptFor(key) };
}

export function acceptFor(key: string): string {
  return createHash("sha1").update(key + WS_GUID).digest("base64");
}

/** The HTTP/1.1 upgrade request. `host` is the Host header value (host[:port]). */
export function upgradeRequest(path: string, host: string, key: string, protocols: readonly string[]): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocols.join(", ")}\r\n\r\n`
  );
}

export type UpgradeAnswer =
  | { kind: "need-more" }
  /** `rest`: frame bytes that came with the answer. */
  | { kind: "ok"; protocol: string; rest: Uint8Array }
  | { kind: "fail"; reason: string };

/** Judges the target's answer (the bytes so far); never quotes the target's text beyond a status. */
export function readUpgradeAnswer(head: Uint8Array, accept: string, offered: readonly string[]): UpgradeAnswer {
  let end = -1;
  for (let i = 3; i < head.length; i++) {
    if (head[i] === 10 && head[i - 1] === 13 && head[i - 2] === 10 && head[i - 3] === 13) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return head.length > MAX_RESPONSE_HEAD ? { kind: "fail", reason: "upgrade answer too long" } : { kind: "need-more" };
  const lines = Buffer.from(head.subarray(0, end - 4)).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0] ?? "");
  if (!status) return { kind: "fail", reason: "not an HTTP answer" };
  if (status[1] !== "101") return { kind: "fail", reason: `refused the upgrade (HTTP ${status[1]})` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") return { kind: "fail", reason: "answer lacks Upgrade: websocket" };
  if (headers.get("sec-websocket-accept") !== accept) return { kind: "fail", reason: "wrong Sec-WebSocket-Accept" };
  const protocol = headers.get("sec-websocket-protocol") ?? "";
  if (!offered.includes(protocol)) return { kind: "fail", reason: "chose no offered subprotocol" };
  if (headers.has("sec-websocket-extensions")) return { kind: "fail", reason: "chose an extension that was not offered" };
  return { kind: "ok", protocol, rest: head.subarray(end) };
}

/** Bytes of a masked client frame's header, mask included, for a payload of `len` bytes. */
export const frameHeaderLength = (len: number): number => (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;

/**
 * Writes a final masked frame's header (RFC 6455 5.2), mask included, at the start of `out`.
 * @returns where the payload starts
 */
export function writeFrameHeader(out: Uint8Array, opcode: number, len: number, mask: Uint8Array): number {
  out[0] = 0x80 | opcode;
  let at = 2;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
    at = 4;
  } else {
    out[1] = 0x80 | 127;
    const view = new DataView(out.buffer, out.byteOffset, 10);
    view.setUint32(2, Math.floor(len / 2 ** 32));
    view.setUint32(6, len >>> 0);
    at = 10;
  }
  out.set(mask, at);
  return at + 4;
}

/** One final masked client frame (RFC 6455 5.3): the payload is copied, XORed with `mask`. */
export function encodeFrame(opcode: number, payload: Uint8Array, mask: Uint8Array = randomBytes(4)): Uint8Array {
  const len = payload.byteLength;
  const out = new Uint8Array(frameHeaderLength(len) + len);
  const body = writeFrameHeader(out, opcode, len, mask);
  for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** A close frame's payload: code and a short reason. */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = Buffer.from(reason.slice(0, 120), "utf8");
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

export type FrameEvent =
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "ping"; payload: Uint8Array }
  | { kind: "close"; code: number }
  | { kind: "fail"; reason: string };

/**
 * Frames from the target, fed in arbitrary chunks. Data payloads come out as they arrive (a
 * large frame is not buffered whole); control frames (at most 125 bytes) are collected first.
 */
export class FrameDecoder {
  private head = new Uint8Array(14);
  private headLen = 0;
  /** Payload bytes left in the current frame, and its opcode. */
  private left = 0;
  private opcode = 0;
  private control: Uint8Array | null = null;
  private controlAt = 0;
  private failed = false;

  feed(bytes: Uint8Array, out: FrameEvent[]): void {
    let i = 0;
    const n = bytes.byteLength;
    while (i < n && !this.failed) {
      if (this.left > 0) {
        const k = Math.min(this.left, n - i);
        const piece = bytes.subarray(i, i + k);
        if (this.control) {
          this.control.set(piece, this.controlAt);
          this.controlAt += k;
        } else {
          out.push({ kind: "data", bytes: piece });
        }
        this.left -= k;
        i += k;
        if (this.left === 0 && this.control) this.endControl(out);
        continue;
      }
      this.head[this.headLen++] = bytes[i++]!;
      const size = this.headerSize();
      if (size < 0 || this.headLen < size) continue;
      this.startFrame(out);
    }
  }

  /** Bytes the header needs (-1: not known yet). */
  private headerSize(): number {
    if (this.headLen < 2) return -1;
    if (this.head[1]! & 0x80) return 0; // masked from a server: refused in startFrame
    const l = this.head[1]! & 0x7f;
    return l < 126 ? 2 : l === 126 ? 4 : 10;
  }

  private startFrame(out: FrameEvent[]): void {
    const h = this.head;
    this.headLen = 0;
    if (h[1]! & 0x80) return this.fail(out, "masked frame from the target");
    if (h[0]! & 0x70) return this.fail(out, "frame with reserved bits");
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const l7 = h[1]! & 0x7f;
    const view = new DataView(h.buffer);
    const len = l7 < 126 ? l7 : l7 === 126 ? view.getUint16(2) : view.getUint32(2) * 2 ** 32 + view.getUint32(6);
    if (opcode >= 8) {
      if (!fin || len > 125) return this.fail(out, "bad control frame");
      if (opcode !== OP_CLOSE && opcode !== OP_PING && opcode !== OP_PONG) return this.fail(out, `unknown opcode ${opcode}`);
      this.opcode = opcode;
      this.control = new Uint8Array(len);
      this.controlAt = 0;
      this.left = len;
      if (len === 0) this.endControl(out);
      return;
    }
    if (opcode !== OP_BINARY && opcode !== OP_CONTINUATION) return this.fail(out, opcode === OP_TEXT ? "text frame from the target" : `unknown opcode ${opcode}`);
    if (len > MAX_TARGET_FRAME) return this.fail(out, "frame too big");
    this.left = len;
  }

  private endControl(out: FrameEvent[]): void {
    const payload = this.control!;
    this.control = null;
    if (this.opcode === OP_PING) out.push({ kind: "ping", payload });
    else if (this.opcode === OP_CLOSE) out.push({ kind: "close", code: payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005 });
  }

  private fail(out: FrameEvent[], reason: string): void {
    this.failed = true;
    out.push({ kind: "fail", reason });
  }
}
