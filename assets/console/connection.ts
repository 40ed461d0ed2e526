/**
 * The console's connection as a small state machine (as noVNC's rfb.js moves through named
 * states with allowed transitions): which state the page is in, what the status bar and overlay
 * say, which buttons work, the reconnect count and the pending VNC password. Pure: no DOM, no
 * noVNC, no timers; the clock is injected. console.ts feeds it events and renders its `view`.
 *
 *   waiting --hand-off--> connecting --ws open--> authenticating --VNC up--> connected
 *   connecting / authenticating / connected --lost--> reconnecting --retry--> (reconnecting) --ws open--> authenticating
 *   any attempt --refused, out of retries--> failed;  --user--> disconnected
 *   failed / disconnected / reconnecting --Reconnect or a new hand-off--> connecting
 */
import { DEFAULT_BACKOFF, nextDelay, type BackoffOptions } from "./backoff.ts";
import type { Handoff } from "./handoff.ts";
import type { Explanation } from "./status.ts";
import { ticketViewOnly } from "./view-only.ts";

export type ConnectionState =
  | "waiting"
  | "connecting"
  | "authenticating"
  | "connected"
  | "reconnecting"
  | "failed"
  | "disconnected";

/** Every transition the page may make; anything else is a bug and throws. */
export const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  waiting: ["connecting"],
  connecting: ["connecting", "authenticating", "reconnecting", "failed", "disconnected"],
  authenticating: ["connecting", "connected", "reconnecting", "failed", "disconnected"],
  connected: ["connecting", "reconnecting", "failed", "disconnected"],
  reconnecting: ["connecting", "reconnecting", "authenticating", "failed", "disconnected"],
  failed: ["connecting"],
  disconnected: ["connecting"],
};

/** What the page shows for the current state. */
export interface ConnectionView {
  state: ConnectionState;
  /** Status bar text. */
  status: string;
  overlay: { title: string; text: string };
  /** Failure kind (data-failure) while failed or waiting to retry; null otherwise. */
  failure: string | null;
  /** Keyboard, keys menu, type and clipboard buttons work (only while connected). */
  inputEnabled: boolean;
  /** The Reconnect button is offered (the session ended and the ticket is still valid). */
  canRetry: boolean;
  /** The Disconnect button is offered. */
  canDisconnect: boolean;
}

export interface ConnectionOptions {
  /** The VM's name from the URL, for the "Opening the console of ..." line. */
  vmTitle: string | null;
  /** The page was opened read-only (`view_only` in the URL); a ticket's signed `view_only` adds to it. */
  viewOnly: boolean;
  /** False when the proxy has no engine origin: no hand-off can ever arrive. */
  engineConfigured: boolean;
  /** Milliseconds since the epoch (Date.now in the page, a fixed clock in tests). */
  now: () => number;
  backoff?: BackoffOptions;
}

/** What follows a session's end: the new view, and when to try again (ms) if at all. */
export interface EndingOutcome {
  view: ConnectionView;
  retryInMs: number | null;
}

export class InvalidTransitionError extends Error {
  override name = "InvalidTransitionError";
}

export class ConnectionController {
  /** The hand-off being used, without its password. */
  session: Omit<Handoff, "password"> | null = null;
  /** The VNC password, held only until the VNC session is up (or the attempt failed). */
  password: string | null = null;
  /** Reconnect attempt number; 0 for a first connection. */
  attempt = 0;
  /** The user closed the session (Disconnect, or cancelled the password prompt). */
  userDisconnected = false;
  /** The console is read-only: by the URL, or by the current hand-off's ticket. */
  viewOnly: boolean;
  private validUntil: number | null = null;
  private current: ConnectionView;

  constructor(private readonly opts: ConnectionOptions) {
    this.viewOnly = opts.viewOnly;
    this.current = this.build("waiting", {
      status: opts.engineConfigured ? "Waiting for the engine…" : "No engine origin configured",
      overlay: {
        title: "Waiting for the engine",
        text: opts.engineConfigured
          ? "This console opens when the oVirt engine hands it a connection ticket."
          : "The proxy has no engine origin configured (serve --engine-origin), so no engine can hand this page a ticket.",
      },
    });
  }

  get view(): ConnectionView {
    return this.current;
  }

  get state(): ConnectionState {
    return this.current.state;
  }

  /** True while the hand-off's ticket can still be accepted by the proxy (unknown expiry counts as valid). */
  ticketStillValid(): boolean {
    return this.session !== null && (this.validUntil === null || this.opts.now() < this.validUntil);
  }

  /** A new hand-off from the engine: a fresh session (call `connect` next). */
  handOff(h: Handoff, validUntil: number | null): void {
    this.session = { kind: h.kind, ticket: h.ticket };
    this.password = h.password;
    this.validUntil = validUntil;
    this.attempt = 0;
    this.userDisconnected = false;
    this.viewOnly = this.opts.viewOnly || ticketViewOnly(h.ticket);
  }

  /** The Reconnect button: false (nothing to do) once the ticket has expired. */
  reconnectByUser(): boolean {
    if (!this.ticketStillValid()) return false;
    this.userDisconnected = false;
    this.attempt = 0;
    return true;
  }

  /** The Disconnect button or a cancelled password prompt: the coming end is the user's. */
  disconnectByUser(): void {
    this.userDisconnected = true;
  }

  /** A websocket is being opened: the first attempt, or reconnect attempt `attempt`. */
  connect(): ConnectionView {
    const first = this.attempt === 0;
    return this.go(first ? "connecting" : "reconnecting", {
      status: first ? "Connecting…" : `Reconnecting (attempt ${this.attempt})…`,
      overlay: { title: "Connecting", text: `Opening the console of ${this.opts.vmTitle ?? "the VM"}…` },
    });
  }

  /** The websocket opened: the proxy accepted the ticket; the VNC handshake runs. */
  opened(): ConnectionView {
    return this.go("authenticating", {});
  }

  /** noVNC reports the VNC session up. The password is dropped here. */
  established(): ConnectionView {
    this.password = null;
    this.attempt = 0;
    return this.go("connected", { status: `Connected${this.viewOnly ? " (view only)" : ""}` });
  }

  /** The attempt cannot go on (or must not be retried). The password is dropped: a later manual reconnect asks. */
  fail(kind: string, message: string): ConnectionView {
    this.password = null;
    return this.go("failed", { status: message, overlay: { title: "Not connected", text: message }, failure: kind });
  }

  /**
   * The session ended (noVNC's disconnect). `why` is explainEnding's verdict (its message possibly
   * extended by the page); `wasConnected` says whether VNC was up, which resets the retry count.
   */
  ended(why: Pick<Explanation, "kind" | "message" | "retry">, wasConnected: boolean): EndingOutcome {
    if (this.userDisconnected) {
      const view = this.go("disconnected", { status: "Disconnected", overlay: { title: "Disconnected", text: "You closed the connection." } });
      return { view, retryInMs: null };
    }
    if (!why.retry) return { view: this.fail(why.kind, why.message), retryInMs: null };
    if (wasConnected) this.attempt = 0;
    this.attempt += 1;
    const delay = nextDelay(this.attempt, this.opts.now(), this.validUntil, this.opts.backoff ?? DEFAULT_BACKOFF);
    if (delay === null) {
      const end = this.ticketStillValid() ? why.message : `${why.message} The ticket has expired; open the console again from the engine.`;
      return { view: this.fail(why.kind, end), retryInMs: null };
    }
    const text = `${why.message} Retrying in ${Math.round(delay / 1000)}s…`;
    const view = this.go("reconnecting", { status: text, overlay: { title: "Connection lost", text }, failure: why.kind });
    return { view, retryInMs: delay };
  }

  private go(to: ConnectionState, patch: Partial<Pick<ConnectionView, "status" | "overlay" | "failure">>): ConnectionView {
    const from = this.current.state;
    if (!TRANSITIONS[from].includes(to)) throw new InvalidTransitionError(`console: no transition from ${from} to ${to}`);
    this.current = this.build(to, { status: this.current.status, overlay: this.current.overlay, failure: null, ...patch });
    return this.current;
  }

  private build(state: ConnectionState, v: Pick<ConnectionView, "status" | "overlay"> & { failure?: string | null }): ConnectionView {
    const ended = state === "failed" || state === "disconnected" || state === "reconnecting";
    return {
      state,
      status: v.status,
      overlay: v.overlay,
      failure: v.failure ?? null,
      inputEnabled: state === "connected",
      canRetry: ended && this.ticketStillValid(),
      canDisconnect: state === "connected" || state === "connecting" || state === "authenticating",
    };
  }
}
