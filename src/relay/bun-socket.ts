/**
 * The Bun edge of a session: Bun.serve's websocket handlers call into the Bun-free Session
 * (src/relay/session.ts) kept in `ws.data`.
 */
import type { ServerWebSocket } from "bun";
import { Session, type SessionInfo } from "./session.ts";
import type { Outcome } from "./close.ts";

export { CLOSE } from "./close.ts";
export type SessionState = Session;
export type SessionSocket = ServerWebSocket<Session>;

export const newSessionState = (info: SessionInfo): Session => new Session(info);
export const onOpen = (ws: SessionSocket): Promise<void> => ws.data.open(ws);
export const onMessage = (ws: SessionSocket, message: string | Uint8Array): void => ws.data.fromBrowser(message);
export const onDrain = (ws: SessionSocket): void => ws.data.browserDrained();
export const onClose = (ws: SessionSocket, code: number, reason: string): void => ws.data.browserClosed(code, reason);
export const closeWs = (ws: SessionSocket, code: number, reason: string, outcome: Outcome): void => ws.data.close(code, reason, outcome);
