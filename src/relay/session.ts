/**
 * One console session: a browser websocket joined to a VNC target by two pumps (src/relay/
 * pump.ts), one per direction, with protocol stages (src/relay/stages/) in a direction only while
 * they have work: VeNCrypt termination until the browser's answer is swallowed, the downgrade
 * guard until it has decided, the view-only filter for view-only sessions. A plain session's
 * chunk goes straight from one side's event to the other side's write.
 *
 * No Bun types here: the browser is a `BrowserSocket` (Bun's ServerWebSocket fits it as is;
 * src/relay/bun-socket.ts wires its events) and the target a `TargetConn`, so the whole session
 * runs against fakes in tests/relay/session.test.ts.
 */
import { tagged, logEvent } from "../log.ts";
import { CLOSE, type Outcome } from "./close.ts";
import { Pump, WRITE_FULL, type Sink } from "./pump.ts";
import { printable } from "../printable.ts";
import { TargetError, type ConnectRequest, type ConnectedTarget, type TargetConn } from "./target.ts";
import { DIRECTION_DOWN, DIRECTION_UP, type Recorder } from "./recorder.ts";
import { isFailure, type Stage, type StageFailure } from "./stages/stage.ts";
import { DowngradeGuard } from "./stages/downgrade-guard.ts";
import { ExpectedPrefix } from "./stages/vencrypt-client.ts";
import { ViewOnlyFilter } from "./stages/view-only.ts";

export { CLOSE, type Outcome };

const log = tagged("session");

/** The members of the browser's websocket the relay uses (Bun's ServerWebSocket has them). */
export interface BrowserSocket {
  /** Bytes sent (> 0), 0 = dropped (not queued), -1 = queued but over the backpressure limit. */
  sendBinary(bytes: Uint8Array): number;
  close(code?: number, reason?: string): void;
  pause(): void;
  resume(): void;
}

export interface SessionInfo {
  id: string;
  client: string;
  ticketHash: string;
  /** Identifies the ticket for per-ticket caps and single use (its signature); null if unsigned. */
  ticketId: string | null;
  /** host:port as the ticket named it, for logs. */
  targetLabel: string;
  connectRequest: Omit<ConnectRequest, "events">;
  connect: (req: ConnectRequest) => Promise<ConnectedTarget>;
  /** Plain ticket: watch the server's opening and refuse a VeNCrypt-only server (downgrade guard). */
  checkPlainOffer: boolean;
  /** Server-enforced view-only: input messages from the browser never reach the VM. */
  viewOnly?: boolean;
  /** Session recording (`--record`), when enabled; set once the websocket is open (never before the upgrade). */
  recorder?: Recorder | null;
  /** Called once the target is connected, with how long it took (metrics). */
  onConnected?: (seconds: number) => void;
  /** Called with how many input messages a browser message's bytes made a view-only session drop (metrics). */
  onInputDropped?: (count: number) => void;
  /** Called once when the session ends (metrics, caps bookkeeping). */
  onEnd?: (s: Session) => void;
}

/**
 * Where a session is: connecting to the target; relaying; flushing (the target hung up, its last
 * bytes are still going to the browser); ended (the browser side is closed).
 */
export type Phase = "connecting" | "relaying" | "flushing" | "ended";

export class Session {
  readonly id: string;
  readonly client: string;
  readonly ticketHash: string;
  readonly ticketId: string | null;
  readonly targetLabel: string;
  readonly startedAt = performance.now();
  /** Wall-clock ms, for the absolute session limit. */
  readonly openedAt = Date.now();
  phase: Phase = "connecting";
  bytesUp = 0;
  bytesDown = 0;
  closeReason = "";
  outcome: Outcome | null = null;

  private browser: BrowserSocket | null = null;
  private conn: TargetConn | null = null;
  private up: Pump | null = null;
  private down: Pump | null = null;
  /** Stages in each direction, in order; null when none is left (the hot path's only check). */
  private upStages: Stage[] | null = null;
  private downStages: Stage[] | null = null;
  private viewOnly: ViewOnlyFilter | null = null;
  /** Target events that came before `connect` resolved (replayed once it has). */
  private early: Array<Uint8Array | { error?: string }> | null = null;
  /** Closes the session when the target sends nothing after connecting (not a VNC server). */
  private firstByteTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly info: SessionInfo) {
    this.id = info.id;
    this.client = info.client;
    this.ticketHash = info.ticketHash;
    this.ticketId = info.ticketId;
    this.targetLabel = info.targetLabel;
    if (info.viewOnly) {
      this.viewOnly = new ViewOnlyFilter();
      this.upStages = [this.viewOnly];
    }
    if (info.checkPlainOffer) this.downStages = [new DowngradeGuard()];
  }

  /** Input messages dropped (view-only). */
  get inputDropped(): number {
    return this.viewOnly?.dropped ?? 0;
  }

  /** How many stages each direction still runs (0 = that direction is a bare pump). */
  get stagesInPath(): { up: number; down: number } {
    return { up: this.upStages?.length ?? 0, down: this.downStages?.length ?? 0 };
  }

  /** The browser's websocket opened: connect to the target; browser input waits (paused) until then. */
  async open(browser: BrowserSocket): Promise<void> {
    this.browser = browser;
    const info = this.info;
    logEvent(log, "info", `open ${this.id} client=${this.client} target=${this.targetLabel} ticket=${this.ticketHash}${info.viewOnly ? " view-only" : ""}`, {
      event: "session_open",
      session: this.id,
      client: this.client,
      target: this.targetLabel,
      ticket: this.ticketHash,
      view_only: Boolean(info.viewOnly),
    });
    browser.pause();
    this.up = new Pump(browser, null, true);
    const toBrowser: Sink = {
      write(bytes) {
        const r = browser.sendBinary(bytes);
        return r > 0 ? bytes.byteLength : r === 0 ? 0 : WRITE_FULL;
      },
    };
    let connected: ConnectedTarget;
    const t0 = performance.now();
    try {
      connected = await info.connect({
        ...info.connectRequest,
        events: {
          data: (bytes) => this.fromTarget(bytes),
          drain: () => this.up?.drain(),
          close: (error) => this.targetClosed(error),
        },
      });
    } catch (err) {
      const reason = err instanceof TargetError ? err.message : "VNC server connection failed";
      if (!(err instanceof TargetError)) log.error(`${this.id} connect failed unexpectedly: ${String(err)}`);
      this.close(CLOSE.INTERNAL, reason, "connect_failed");
      return;
    }
    info.onConnected?.((performance.now() - t0) / 1000);
    if (this.phase === "ended") {
      // The browser left while we were connecting.
      connected.conn.end();
      return;
    }
    this.phase = "relaying";
    this.conn = connected.conn;
    this.down = new Pump(connected.conn, toBrowser);
    if (this.bytesDown === 0) {
      // A VNC server speaks first (its version); one that stays silent would hold a session slot.
      this.firstByteTimer = setTimeout(() => {
        if (this.bytesDown === 0 && this.phase === "relaying") this.close(CLOSE.INTERNAL, "VNC server sent nothing", "target_error");
      }, info.connectRequest.timeoutMs);
    }
    if (connected.clientExpect) (this.upStages ??= []).push(new ExpectedPrefix(connected.clientExpect));
    if (connected.clientPreface) {
      // The recording holds what the browser saw, so the opening the proxy speaks for the server is in it.
      info.recorder?.write(DIRECTION_DOWN, connected.clientPreface);
      this.down.push(connected.clientPreface);
    }
    this.up.attach(connected.conn);
    const early = this.early;
    this.early = null;
    for (const e of early ?? []) {
      if (e instanceof Uint8Array) this.fromTarget(e);
      else this.targetClosed(e.error);
    }
  }

  /** A websocket message from the browser (-> VNC). */
  fromBrowser(message: string | Uint8Array): void {
    if (typeof message === "string") {
      this.close(CLOSE.UNSUPPORTED, "Text frames not supported", "protocol_error");
      return;
    }
    this.bytesUp += message.byteLength;
    this.info.recorder?.write(DIRECTION_UP, message);
    if (this.upStages === null) {
      this.up!.push(message);
      return;
    }
    const droppedBefore = this.inputDropped;
    const bytes = this.runStages(this.upStages, message, "up");
    if (this.inputDropped > droppedBefore) this.info.onInputDropped?.(this.inputDropped - droppedBefore);
    if (bytes !== null && bytes.byteLength > 0) this.up!.push(bytes);
  }

  /** VNC -> browser. */
  private fromTarget(bytes: Uint8Array): void {
    if (this.phase !== "relaying") {
      if (this.phase === "connecting") (this.early ??= []).push(bytes.slice());
      return;
    }
    this.bytesDown += bytes.byteLength;
    this.info.recorder?.write(DIRECTION_DOWN, bytes);
    if (this.downStages !== null) {
      const passed = this.runStages(this.downStages, bytes, "down");
      if (passed === null) return;
      bytes = passed;
      if (bytes.byteLength === 0) return;
    }
    this.down!.push(bytes);
  }

  /** Feeds bytes through a direction's stages; drops done ones; null after a failure (closed). */
  private runStages(stages: Stage[], bytes: Uint8Array, direction: "up" | "down"): Uint8Array | null {
    let out: Uint8Array = bytes;
    for (const stage of stages) {
      const r: Uint8Array | StageFailure = stage.feed(out);
      if (isFailure(r)) {
        this.close(r.code, r.reason, r.outcome);
        this.conn?.end();
        return null;
      }
      out = r;
      if (out.byteLength === 0) break;
    }
    if (stages.some((s) => s.done)) {
      const left = stages.filter((s) => !s.done);
      const rest = left.length > 0 ? left : null;
      if (direction === "up") this.upStages = rest;
      else this.downStages = rest;
    }
    return out;
  }

  /** The browser caught up: send what was held, then let the target flow (or close after its last bytes). */
  browserDrained(): void {
    const empty = this.down?.drain() ?? false;
    if (empty && this.phase === "flushing") this.close(CLOSE.TARGET_CLOSED, "Target closed", "target_closed");
  }

  private targetClosed(error?: string): void {
    if (this.phase !== "relaying") {
      if (this.phase === "connecting") (this.early ??= []).push({ error });
      return;
    }
    if (error) {
      this.close(CLOSE.INTERNAL, error, "target_error");
      return;
    }
    this.phase = "flushing";
    // Everything handed to the websocket is flushed by it before the close frame; held bytes first.
    if (!this.down?.pending) this.close(CLOSE.TARGET_CLOSED, "Target closed", "target_closed");
  }

  /** Closes the browser side with a code and reason, remembering why for the audit line and metrics. */
  close(code: number, reason: string, outcome: Outcome): void {
    if (!this.closeReason) this.closeReason = `${code} ${reason}`;
    this.outcome ??= outcome;
    try {
      this.browser?.close(code, reason);
    } catch {
      // already closed
    }
  }

  /** The browser's websocket closed (it left, or we closed it): end the target, log the session. */
  browserClosed(code: number, reason: string): void {
    if (this.phase === "ended") return;
    this.phase = "ended";
    clearTimeout(this.firstByteTimer);
    // A browser that vanished (1006) or left bytes unsent: reset the VNC side rather than leave
    // the kernel holding a socket full of data for a target that may never read it.
    if (code === 1006 || this.up?.pending) this.conn?.terminate();
    else this.conn?.end();
    this.info.recorder?.close();
    this.up?.clear();
    this.down?.clear();
    if (code === CLOSE.TOO_BIG && !this.closeReason) {
      // Bun closed it: a browser message over the size cap.
      this.closeReason = "1009 Message too big";
      this.outcome = "protocol_error";
    }
    this.outcome ??= "client_closed";
    const closeReason = this.closeReason || `${code}${reason ? ` ${printable(reason, 60)}` : ""} by client`;
    const seconds = (performance.now() - this.startedAt) / 1000;
    const dropped = this.viewOnly ? ` dropped=${this.inputDropped}` : "";
    logEvent(
      log,
      "info",
      `close ${this.id} client=${this.client} target=${this.targetLabel} ticket=${this.ticketHash} up=${this.bytesUp} down=${this.bytesDown}${dropped} duration=${seconds.toFixed(1)}s reason="${closeReason}"`,
      {
        event: "session_close",
        session: this.id,
        client: this.client,
        target: this.targetLabel,
        ticket: this.ticketHash,
        bytes_up: this.bytesUp,
        bytes_down: this.bytesDown,
        ...(this.viewOnly ? { input_dropped: this.inputDropped } : {}),
        duration_s: Number(seconds.toFixed(3)),
        outcome: this.outcome,
        reason: closeReason,
      },
    );
    this.info.onEnd?.(this);
  }
}
