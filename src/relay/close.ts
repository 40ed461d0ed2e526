/**
 * How a session ends: the websocket close codes the relay uses and the outcome words that label
 * them in metrics and the audit line. The relay owns these; the server only reads them.
 */

/** Close codes the relay uses, with the reasons upstream oVirt clients know. */
export const CLOSE = {
  TARGET_CLOSED: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  UNSUPPORTED: 1003,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
} as const;

/** Why a session ended, as a metric label. */
export type Outcome = "target_closed" | "client_closed" | "connect_failed" | "target_error" | "idle_timeout" | "time_limit" | "shutdown" | "protocol_error";
