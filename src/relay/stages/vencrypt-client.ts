/**
 * The browser's side of VeNCrypt termination (src/relay/vencrypt.ts ran the server's side): the
 * browser was shown a plain RFB 3.8 server offering VNC authentication and must answer with
 * exactly the version and that type. Those bytes are checked and swallowed, since the server
 * already heard them from the proxy; everything after them passes.
 */
import { CLOSE } from "../close.ts";
import { EMPTY, type Stage, type StageFailure } from "./stage.ts";

export class ExpectedPrefix implements Stage {
  private at = 0;

  constructor(private readonly expect: Uint8Array) {}

  get done(): boolean {
    return this.at === this.expect.byteLength;
  }

  feed(bytes: Uint8Array): Uint8Array | StageFailure {
    const take = Math.min(bytes.byteLength, this.expect.byteLength - this.at);
    for (let i = 0; i < take; i++) {
      if (bytes[i] !== this.expect[this.at + i]) {
        return { fail: true, code: CLOSE.PROTOCOL, reason: "Unexpected RFB handshake from client", outcome: "protocol_error" };
      }
    }
    this.at += take;
    return take === bytes.byteLength ? EMPTY : bytes.subarray(take);
  }
}
