/**
 * A protocol stage: sans-I/O logic a session puts in one direction of its byte path. It is fed
 * the bytes on their way and returns what passes on (the same array, a part of it, or new bytes)
 * or a failure the session turns into a close. Once `done`, it passes everything unchanged and
 * the session takes it out of the path, so a decided stage costs nothing per message.
 */
import type { Outcome } from "../close.ts";

export interface StageFailure {
  fail: true;
  code: number;
  /** Short ASCII close reason. */
  reason: string;
  outcome: Outcome;
}

export interface Stage {
  feed(bytes: Uint8Array): Uint8Array | StageFailure;
  readonly done: boolean;
}

export const isFailure = (r: Uint8Array | StageFailure): r is StageFailure => !(r instanceof Uint8Array);

export const EMPTY = new Uint8Array(0);
