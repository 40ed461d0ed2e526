/**
 * The console page's entry point (bundled with noVNC's core into assets/dist/console.js).
 *
 * Flow: read the query parameters, announce readiness to the engine window, wait for a hand-off
 * message from an engine origin (see handoff.ts for the accepted shapes), open the websocket
 * ourselves (so its close code and reason are visible) and give it to noVNC's RFB.
 * The VNC password lives only in the connection controller until the VNC session is up, then is
 * dropped; it never goes to storage, a cookie or the URL.
 *
 * Connection state, texts and the reconnect count live in connection.ts (a state machine); the
 * toolbar in toolbar.ts. This file wires noVNC's and the window's events to them.
 * The page exposes its state on <body data-state="waiting|connecting|authenticating|connected|
 * reconnecting|disconnected|failed" data-failure="KIND"> for styling and for the browser tests.
 */
// Must stay the first import: it listens for the engine's message before noVNC's top-level await.
import { takeMessages } from "./early-messages.ts";
import RFB from "@novnc/novnc";
import { ConnectionController, type ConnectionView } from "./connection.ts";
import { byId } from "./dom.ts";
import {
  ENGINE_ORIGINS_META,
  READY_MESSAGE,
  clearTicketCookie,
  clearLegacyTicketCookie,
  isEngineOrigin,
  parseEngineOrigins,
  parseHandoff,
  readParams,
  secondsLeft,
  ticketCookie,
  ticketValidTo,
  websocketUrl,
  type Handoff,
} from "./handoff.ts";
import { explainEnding } from "./status.ts";
import { applyScale, setupToolbar } from "./toolbar.ts";
import { showViewOnly } from "./view-only.ts";

const ui = {
  title: byId("vm-title"),
  statusText: byId("status-text"),
  screen: byId("screen"),
  overlayTitle: byId("overlay-title"),
  overlayText: byId("overlay-text"),
  pwDialog: byId<HTMLDialogElement>("password-dialog"),
  pwInput: byId<HTMLInputElement>("password-input"),
  pwSend: byId<HTMLButtonElement>("password-send"),
  pwCancel: byId<HTMLButtonElement>("password-cancel"),
};

const params = readParams(location.search, location);
const engineOrigins = parseEngineOrigins(
  document.querySelector<HTMLMetaElement>(`meta[name="${ENGINE_ORIGINS_META}"]`)?.content,
);

const connection = new ConnectionController({
  vmTitle: params.title,
  viewOnly: params.viewOnly,
  engineConfigured: engineOrigins.length > 0,
  now: Date.now,
});

// Runtime handles only; the connection's state is in `connection`.
let rfb: RFB | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
/** A reconnected session waiting for the VNC password, which we no longer hold. */
let awaitingCredentials: RFB | null = null;
let credentialsTimer: ReturnType<typeof setTimeout> | null = null;

/** How long a reconnect waits for the engine to re-send the password before asking the user. */
const ENGINE_RESEND_MS = 2000;

const toolbar = setupToolbar({
  rfb: () => rfb,
  initialScale: params.scale,
  onReconnect: () => {
    if (connection.reconnectByUser()) connect();
  },
  onDisconnect: () => {
    stopRetry();
    connection.disconnectByUser();
    rfb?.disconnect();
  },
});

function setTitle(name: string | null): void {
  const shown = name && name.trim() ? name.trim() : "Console";
  ui.title.textContent = shown;
  document.title = name && name.trim() ? `${shown} - Console` : "Console";
}

/** Shows a connection view: body data attributes, status bar, overlay, toolbar buttons. */
function render(view: ConnectionView): void {
  document.body.dataset.state = view.state;
  if (view.failure) document.body.dataset.failure = view.failure;
  else delete document.body.dataset.failure;
  ui.statusText.textContent = view.status;
  ui.statusText.title = view.status;
  ui.overlayTitle.textContent = view.overlay.title;
  ui.overlayText.textContent = view.overlay.text;
  toolbar.render(view);
}

// ---------------------------------------------------------------- engine hand-off

/**
 * The engine origins a window may have. A cross-origin window's origin cannot be read, but a
 * same-origin one can, a parent's is in location.ancestorOrigins (Chromium), and an opener's
 * is usually the referrer; otherwise every engine origin is tried (posting to a wrong target
 * origin is dropped by the browser, with a console warning).
 */
function originsOf(target: Window, isParent: boolean): string[] {
  const known: (string | undefined)[] = [];
  try {
    known.push(target.location.origin);
  } catch {
    /* cross-origin */
  }
  if (isParent) known.push(location.ancestorOrigins?.[0]);
  try {
    if (!isParent && document.referrer) known.push(new URL(document.referrer).origin);
  } catch {
    /* no usable referrer */
  }
  const hit = known.find((o) => o !== undefined && isEngineOrigin(o, engineOrigins));
  return hit ? [hit] : engineOrigins;
}

/** Tell the window that opened (or frames) us that we listen now. */
function announceReady(): void {
  const targets = new Map<Window, boolean>();
  if (window.opener) targets.set(window.opener as Window, false);
  if (window.parent && window.parent !== window) targets.set(window.parent, true);
  for (const [target, isParent] of targets) {
    for (const origin of originsOf(target, isParent)) {
      try {
        // Delivered only if the target's origin is `origin`; otherwise silently dropped.
        target.postMessage(READY_MESSAGE, origin);
      } catch {
        /* a closed or cross-origin-restricted window: nothing to tell */
      }
    }
  }
}

function onMessage(ev: MessageEvent): void {
  if (ev.source === window) return;
  if (!isEngineOrigin(ev.origin, engineOrigins)) {
    console.warn(`novnc-proxy console: ignored a message from ${ev.origin}, which is not an engine origin`);
    return;
  }
  const h = parseHandoff(ev.data);
  if (!h) {
    console.warn(`novnc-proxy console: ignored a message from ${ev.origin} without a connection ticket`);
    return;
  }
  // A reconnect asked the engine again (ready message): use the password it re-sent, at once.
  const session = connection.session;
  if (awaitingCredentials && awaitingCredentials === rfb && session?.ticket === h.ticket && h.password !== null) {
    const conn = awaitingCredentials;
    stopAwaitingCredentials();
    if (ui.pwDialog.open) ui.pwDialog.close();
    conn.sendCredentials({ password: h.password });
    return;
  }
  // An engine that re-sends the same ticket (e.g. on a timer until it sees us) changes nothing.
  if (session && session.ticket === h.ticket && session.kind === h.kind && rfb) return;
  startSession(h);
}

function startSession(h: Handoff): void {
  stopRetry();
  const to = ticketValidTo(h.ticket);
  connection.handOff(h, to ? to.getTime() : null);
  showViewOnly(connection.viewOnly);
  if (rfb) {
    const old = rfb;
    rfb = null;
    old.disconnect();
  }
  connect();
}

// ---------------------------------------------------------------- connection

function connect(): void {
  const h = connection.session;
  if (!h) return;
  stopRetry();
  document.cookie = clearLegacyTicketCookie();
  if (h.kind === "cookie") {
    document.cookie = ticketCookie(h.ticket, secondsLeft(h.ticket, new Date()));
  } else {
    document.cookie = clearTicketCookie();
  }
  const url = websocketUrl(params, h);
  render(connection.connect());

  const seen = { opened: false, connected: false, code: 1006, reason: "", securityFailure: null as null | { status: number; reason: string } };
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, ["binary"]);
  } catch (err) {
    render(connection.fail("refused", `Cannot open the connection: ${(err as Error).message}`));
    return;
  }
  // Registered before noVNC attaches, so the close code is known when noVNC reports the end.
  ws.addEventListener("open", () => {
    seen.opened = true;
    // The proxy has read the ticket; a reconnect sets it again.
    if (h.kind === "cookie") document.cookie = clearTicketCookie();
    if (rfb === conn) render(connection.opened());
  });
  ws.addEventListener("close", (e) => {
    seen.code = e.code;
    seen.reason = e.reason;
  });

  const password = connection.password;
  const credentials = password !== null ? { password } : undefined;
  const conn = new RFB(ui.screen, ws, { shared: true, wsProtocols: ["binary"], ...(credentials ? { credentials } : {}) });
  rfb = conn;
  conn.background = "#14161c"; // a shade off black, so a black VM screen shows its edges
  conn.viewOnly = connection.viewOnly;
  applyScale(conn, toolbar.scale());

  conn.addEventListener("connect", () => {
    if (rfb !== conn) return;
    seen.connected = true;
    render(connection.established());
    if (!connection.viewOnly) conn.focus({ preventScroll: true });
  });
  conn.addEventListener("securityfailure", (e) => {
    const d = (e as CustomEvent<{ status: number; reason?: string }>).detail;
    seen.securityFailure = { status: d.status, reason: d.reason ?? "" };
  });
  conn.addEventListener("credentialsrequired", () => {
    if (rfb !== conn) return;
    if (connection.password !== null) {
      conn.sendCredentials({ password: connection.password });
      return;
    }
    // The password was dropped after the first connect. Say "ready" again: an engine that
    // answers ready messages re-sends ticket and password; if none does, ask the user.
    stopAwaitingCredentials();
    awaitingCredentials = conn;
    announceReady();
    credentialsTimer = setTimeout(() => {
      if (awaitingCredentials === conn && rfb === conn) {
        stopAwaitingCredentials();
        askPassword(conn);
      }
    }, ENGINE_RESEND_MS);
  });
  conn.addEventListener("desktopname", (e) => {
    if (!params.title) setTitle((e as CustomEvent<{ name: string }>).detail.name);
  });
  conn.addEventListener("clipboard", (e) => {
    toolbar.showClipboard((e as CustomEvent<{ text: string }>).detail.text);
  });
  conn.addEventListener("disconnect", () => {
    if (awaitingCredentials === conn) stopAwaitingCredentials();
    if (rfb !== conn) return; // replaced by a newer session
    rfb = null;
    if (ui.pwDialog.open) ui.pwDialog.close();
    const why = explainEnding({ ...seen, ticketExpired: !connection.ticketStillValid() });
    if (why.kind === "refused" && `${params.host}:${params.port}` !== location.host && params.host !== location.hostname) {
      why.message += ` The page may only connect to the proxy that served it (${location.host}), not ${params.host}:${params.port}.`;
    }
    const { view, retryInMs } = connection.ended(why, seen.connected);
    render(view);
    if (retryInMs !== null) retryTimer = setTimeout(connect, retryInMs);
  });
}

function stopRetry(): void {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
}

function stopAwaitingCredentials(): void {
  if (credentialsTimer !== null) clearTimeout(credentialsTimer);
  credentialsTimer = null;
  awaitingCredentials = null;
}

function askPassword(conn: RFB): void {
  ui.pwInput.value = "";
  ui.pwDialog.showModal();
  ui.pwInput.focus();
  const done = (send: boolean) => {
    const pw = ui.pwInput.value;
    ui.pwInput.value = "";
    ui.pwSend.onclick = ui.pwCancel.onclick = ui.pwDialog.oncancel = null;
    ui.pwInput.onkeydown = null;
    if (ui.pwDialog.open) ui.pwDialog.close();
    if (send && rfb === conn) conn.sendCredentials({ password: pw });
    else if (rfb === conn) {
      connection.disconnectByUser();
      conn.disconnect();
    }
  };
  ui.pwSend.onclick = () => done(true);
  ui.pwCancel.onclick = () => done(false);
  ui.pwDialog.oncancel = () => done(false); // Esc
  ui.pwInput.onkeydown = (e) => {
    if (e.key === "Enter") done(true);
  };
}

// ---------------------------------------------------------------- start

setTitle(params.title);
showViewOnly(params.viewOnly);
takeMessages(onMessage);
render(connection.view);
announceReady();
