/**
 * The outcome of a target connection being set up in several steps (VeNCrypt, websocket
 * targets): settled once, by `open` or by `fail` (a step failed, or the set-up timer ran out).
 * Only the set-up uses it; once open, the relay path never touches it.
 */
import { TargetError } from "./target.ts";

export class ConnectAttempt<T> {
  /** What the connector returns: resolves with `open`, rejects with a TargetError from `fail`. */
  readonly result: Promise<T>;
  private state: "pending" | "open" | "failed" = "pending";
  private resolve!: (value: T) => void;
  private reject!: (err: TargetError) => void;
  private readonly timer: ReturnType<typeof setTimeout>;

  /**
   * @param timeoutMs how long the whole set-up may take
   * @param timeoutReason the reason to fail with then (it may name the step that was running)
   * @param cleanup runs once on failure, before the rejection (end the sockets; its throws are ignored)
   */
  constructor(timeoutMs: number, timeoutReason: () => string, private readonly cleanup: () => void) {
    this.result = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => this.fail(timeoutReason()), timeoutMs);
  }

  /** The set-up succeeded: stops the timer and hands `value` to the caller (once). */
  open(value: T): void {
    if (this.state !== "pending") return;
    this.state = "open";
    clearTimeout(this.timer);
    this.resolve(value);
  }

  /** The set-up failed: once, and never after `open` (later failures are the relay's to report). */
  fail(reason: string): void {
    if (this.state !== "pending") return;
    this.state = "failed";
    clearTimeout(this.timer);
    try {
      this.cleanup();
    } catch {}
    this.reject(new TargetError(reason));
  }
}
