/**
 * Turns what the browser can observe of a failed or ended connection into one sentence a console
 * user understands. The browser hides an HTTP refusal of the upgrade (it only reports close code
 * 1006 before the socket opened), so the proxy's 401/403 reason is not visible here; what the
 * page knows itself (the ticket's validTo) narrows it down.
 */

/** What happened to the websocket and the VNC session. */
export interface Ending {
  /** The websocket reached OPEN (the proxy accepted the ticket). */
  opened: boolean;
  /** noVNC reached "connected" (VNC handshake and auth done). */
  connected: boolean;
  /** Close code and reason of the websocket (1006 when the network or the upgrade failed). */
  code: number;
  reason: string;
  /** noVNC's securityfailure event, when VNC authentication failed. */
  securityFailure: { status: number; reason: string } | null;
  /** The ticket's validTo had passed when the connection ended. */
  ticketExpired: boolean;
}

export type FailureKind =
  | "wrong-password"
  | "expired"
  | "refused"
  | "target-unreachable"
  | "vm-gone"
  | "limit"
  | "shutdown"
  | "lost"
  | "closed";

export interface Explanation {
  kind: FailureKind;
  message: string;
  /** Trying again with the same ticket can help. */
  retry: boolean;
}

/** Keeps a server-supplied reason printable and short before it goes into the page. */
function clean(reason: string): string {
  return reason.replace(/[^\x20-\x7e]/g, "").trim().slice(0, 120);
}

/** Why a connection ended, for the status bar. */
export function explainEnding(e: Ending): Explanation {
  const reason = clean(e.reason);
  const said = reason ? ` (${reason})` : "";
  if (e.securityFailure) {
    const r = clean(e.securityFailure.reason);
    return {
      kind: "wrong-password",
      message: `Wrong VNC password, or it has expired${r ? ` (server says: ${r})` : ""}. Open the console again from the engine.`,
      retry: false,
    };
  }
  if (!e.opened) {
    if (e.ticketExpired) {
      return { kind: "expired", message: "The console ticket has expired. Open the console again from the engine.", retry: false };
    }
    return {
      kind: "refused",
      message: "The proxy refused the connection: the ticket is invalid or expired, or the VM's address is not allowed.",
      retry: false,
    };
  }
  switch (e.code) {
    case 1011:
      return { kind: "target-unreachable", message: `Cannot reach the VM's console: the VM is gone or its host is unreachable${said}.`, retry: true };
    case 1000:
      return e.connected
        ? { kind: "vm-gone", message: `The VM's console closed the connection: the VM stopped, migrated or rebooted${said}.`, retry: true }
        : { kind: "target-unreachable", message: `The VM's console closed before the session started${said}.`, retry: true };
    case 1001:
      return { kind: "shutdown", message: `The proxy is restarting or shutting down${said}.`, retry: true };
    case 1008:
    case 1009:
      return { kind: "limit", message: `The proxy ended the session${said}.`, retry: false };
    case 1006:
      return { kind: "lost", message: "The connection to the proxy was lost.", retry: true };
    default:
      return { kind: "closed", message: `Disconnected (code ${e.code})${said}.`, retry: e.code !== 1005 };
  }
}
