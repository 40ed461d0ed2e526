/**
 * The console page's entry point (bundled with noVNC's core into assets/dist/console.js).
 *
 * Flow: read the query parameters, announce readiness to the engine window, wait for a hand-off
 * message from an engine origin (see handoff.ts for the accepted shapes), open the websocket
 * ourselves (so its close code and reason are visible) and give it to noVNC's RFB.
 * The VNC password lives only in a local variable until the VNC session is up, then is dropped;
 * it never goes to storage, a cookie or the URL.
 *
 * The page exposes its state on <body data-state="waiting|connecting|connected|reconnecting|
 * disconnected|failed" data-failure="KIND"> for styling and for the browser tests.
 */
// Must stay the first import: it listens for the engine's message before noVNC's top-level await.
import { takeMessages } from "./early-messages.ts";
import RFB from "@novnc/novnc";
import { DEFAULT_BACKOFF, nextDelay } from "./backoff.ts";
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
  type ScaleMode,
} from "./handoff.ts";
import { SPECIAL_KEYS, chord, textToStrokes, type KeyStroke } from "./keys.ts";
import { explainEnding } from "./status.ts";

type PageState = "waiting" | "connecting" | "connected" | "reconnecting" | "disconnected" | "failed";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page is missing #${id}`);
  return el as T;
};

const ui = {
  title: $("vm-title"),
  statusText: $("status-text"),
  screen: $("screen"),
  overlayTitle: $("overlay-title"),
  overlayText: $("overlay-text"),
  cad: $<HTMLButtonElement>("btn-cad"),
  keys: $<HTMLButtonElement>("btn-keys"),
  keysMenu: $("keys-menu"),
  type: $<HTMLButtonElement>("btn-type"),
  clipboard: $<HTMLButtonElement>("btn-clipboard"),
  scale: $<HTMLSelectElement>("scale"),
  fullscreen: $<HTMLButtonElement>("btn-fullscreen"),
  reconnect: $<HTMLButtonElement>("btn-reconnect"),
  disconnect: $<HTMLButtonElement>("btn-disconnect"),
  typeDialog: $<HTMLDialogElement>("type-dialog"),
  typeText: $<HTMLTextAreaElement>("type-text"),
  typeProgress: $("type-progress"),
  typeSend: $<HTMLButtonElement>("type-send"),
  typeCancel: $<HTMLButtonElement>("type-cancel"),
  clipDialog: $<HTMLDialogElement>("clipboard-dialog"),
  clipText: $<HTMLTextAreaElement>("clipboard-text"),
  clipSend: $<HTMLButtonElement>("clipboard-send"),
  clipCancel: $<HTMLButtonElement>("clipboard-cancel"),
  pwDialog: $<HTMLDialogElement>("password-dialog"),
  pwInput: $<HTMLInputElement>("password-input"),
  pwSend: $<HTMLButtonElement>("password-send"),
  pwCancel: $<HTMLButtonElement>("password-cancel"),
};

const params = readParams(location.search, location);
const engineOrigins = parseEngineOrigins(
  document.querySelector<HTMLMetaElement>(`meta[name="${ENGINE_ORIGINS_META}"]`)?.content,
);

// ---------------------------------------------------------------- state

/** The current hand-off, without its password. */
let handoff: Omit<Handoff, "password"> | null = null;
let validUntil: number | null = null;
/** The VNC password, only until the VNC session is established. */
let pendingPassword: string | null = null;
let rfb: RFB | null = null;
let attempt = 0;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let userDisconnected = false;
let typing: { cancel: boolean } | null = null;
/** A reconnected session waiting for the VNC password, which we no longer hold. */
let awaitingCredentials: RFB | null = null;
let credentialsTimer: ReturnType<typeof setTimeout> | null = null;

/** How long a reconnect waits for the engine to re-send the password before asking the user. */
const ENGINE_RESEND_MS = 2000;

function setTitle(name: string | null): void {
  const shown = name && name.trim() ? name.trim() : "Console";
  ui.title.textContent = shown;
  document.title = name && name.trim() ? `${shown} - Console` : "Console";
}

function setState(state: PageState, text: string, overlay?: { title: string; text: string }, failure?: string): void {
  document.body.dataset.state = state;
  if (failure) document.body.dataset.failure = failure;
  else delete document.body.dataset.failure;
  ui.statusText.textContent = text;
  ui.statusText.title = text;
  if (overlay) {
    ui.overlayTitle.textContent = overlay.title;
    ui.overlayText.textContent = overlay.text;
  }
  const live = state === "connected";
  for (const b of [ui.cad, ui.keys, ui.type, ui.clipboard]) b.disabled = !live;
  const canRetry = (state === "failed" || state === "disconnected" || state === "reconnecting") && ticketStillValid();
  ui.reconnect.hidden = !canRetry;
  ui.disconnect.hidden = !(state === "connected" || state === "connecting");
  if (!live) closeKeysMenu();
}

function ticketStillValid(): boolean {
  return handoff !== null && (validUntil === null || Date.now() < validUntil);
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
  if (awaitingCredentials && awaitingCredentials === rfb && handoff?.ticket === h.ticket && h.password !== null) {
    const conn = awaitingCredentials;
    stopAwaitingCredentials();
    if (ui.pwDialog.open) ui.pwDialog.close();
    conn.sendCredentials({ password: h.password });
    return;
  }
  // An engine that re-sends the same ticket (e.g. on a timer until it sees us) changes nothing.
  if (handoff && handoff.ticket === h.ticket && handoff.kind === h.kind && rfb) return;
  startSession(h);
}

function startSession(h: Handoff): void {
  stopRetry();
  userDisconnected = false;
  handoff = { kind: h.kind, ticket: h.ticket };
  pendingPassword = h.password;
  const to = ticketValidTo(h.ticket);
  validUntil = to ? to.getTime() : null;
  attempt = 0;
  if (rfb) {
    const old = rfb;
    rfb = null;
    old.disconnect();
  }
  connect();
}

// ---------------------------------------------------------------- connection

function connect(): void {
  if (!handoff) return;
  stopRetry();
  const h = handoff;
  document.cookie = clearLegacyTicketCookie();
  if (h.kind === "cookie") {
    document.cookie = ticketCookie(h.ticket, secondsLeft(h.ticket, new Date()));
  } else {
    document.cookie = clearTicketCookie();
  }
  const url = websocketUrl(params, h);
  setState(
    attempt === 0 ? "connecting" : "reconnecting",
    attempt === 0 ? "Connecting…" : `Reconnecting (attempt ${attempt})…`,
    { title: "Connecting", text: `Opening the console of ${params.title ?? "the VM"}…` },
  );

  const seen = { opened: false, connected: false, code: 1006, reason: "", securityFailure: null as null | { status: number; reason: string } };
  let ws: WebSocket;
  try {
    ws = new WebSocket(url, ["binary"]);
  } catch (err) {
    fail("refused", `Cannot open the connection: ${(err as Error).message}`);
    return;
  }
  // Registered before noVNC attaches, so the close code is known when noVNC reports the end.
  ws.addEventListener("open", () => {
    seen.opened = true;
    // The proxy has read the ticket; a reconnect sets it again.
    if (h.kind === "cookie") document.cookie = clearTicketCookie();
  });
  ws.addEventListener("close", (e) => {
    seen.code = e.code;
    seen.reason = e.reason;
  });

  const credentials = pendingPassword !== null ? { password: pendingPassword } : undefined;
  const conn = new RFB(ui.screen, ws, { shared: true, wsProtocols: ["binary"], ...(credentials ? { credentials } : {}) });
  rfb = conn;
  conn.background = "#14161c"; // a shade off black, so a black VM screen shows its edges
  conn.viewOnly = params.viewOnly;
  applyScale(ui.scale.value as ScaleMode);

  conn.addEventListener("connect", () => {
    if (rfb !== conn) return;
    seen.connected = true;
    pendingPassword = null; // dropped once the session is up
    attempt = 0;
    setState("connected", `Connected${params.viewOnly ? " (view only)" : ""}`);
    if (!params.viewOnly) conn.focus({ preventScroll: true });
  });
  conn.addEventListener("securityfailure", (e) => {
    const d = (e as CustomEvent<{ status: number; reason?: string }>).detail;
    seen.securityFailure = { status: d.status, reason: d.reason ?? "" };
  });
  conn.addEventListener("credentialsrequired", () => {
    if (rfb !== conn) return;
    if (pendingPassword !== null) {
      conn.sendCredentials({ password: pendingPassword });
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
    ui.clipText.value = (e as CustomEvent<{ text: string }>).detail.text;
  });
  conn.addEventListener("disconnect", () => {
    if (awaitingCredentials === conn) stopAwaitingCredentials();
    if (rfb !== conn) return; // replaced by a newer session
    rfb = null;
    if (ui.pwDialog.open) ui.pwDialog.close();
    if (userDisconnected) {
      setState("disconnected", "Disconnected", { title: "Disconnected", text: "You closed the connection." });
      return;
    }
    const expired = validUntil !== null && Date.now() >= validUntil;
    const why = explainEnding({ ...seen, ticketExpired: expired });
    let message = why.message;
    if (why.kind === "refused" && `${params.host}:${params.port}` !== location.host && params.host !== location.hostname) {
      message += ` The page may only connect to the proxy that served it (${location.host}), not ${params.host}:${params.port}.`;
    }
    if (why.retry) scheduleRetry(message, why.kind, seen.connected);
    else fail(why.kind, message);
  });
}

function fail(kind: string, message: string): void {
  pendingPassword = null; // a later manual reconnect asks the user if the VM wants a password
  setState("failed", message, { title: "Not connected", text: message }, kind);
}

function scheduleRetry(message: string, kind: string, wasConnected: boolean): void {
  if (wasConnected) attempt = 0;
  attempt += 1;
  const delay = nextDelay(attempt, Date.now(), validUntil, DEFAULT_BACKOFF);
  if (delay === null) {
    const end = ticketStillValid() ? message : `${message} The ticket has expired; open the console again from the engine.`;
    fail(kind, end);
    return;
  }
  const secs = Math.round(delay / 1000);
  setState("reconnecting", `${message} Retrying in ${secs}s…`, { title: "Connection lost", text: `${message} Retrying in ${secs}s…` }, kind);
  retryTimer = setTimeout(connect, delay);
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
      userDisconnected = true;
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

// ---------------------------------------------------------------- controls

function applyScale(mode: ScaleMode): void {
  if (!rfb) return;
  rfb.scaleViewport = mode === "fit";
  rfb.resizeSession = mode === "remote";
  rfb.clipViewport = false;
}

function sendStrokes(strokes: readonly KeyStroke[]): void {
  for (const s of strokes) rfb?.sendKey(s.keysym, s.code, s.down);
}

function buildKeysMenu(): void {
  SPECIAL_KEYS.forEach((k, i) => {
    if (i === 2 || i === 14) ui.keysMenu.appendChild(document.createElement("hr"));
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "menuitem");
    b.dataset.key = k.id;
    b.textContent = k.label;
    b.tabIndex = -1;
    b.addEventListener("click", () => {
      sendStrokes(chord(k.keys));
      closeKeysMenu();
      rfb?.focus({ preventScroll: true });
    });
    ui.keysMenu.appendChild(b);
  });
}

function menuItems(): HTMLButtonElement[] {
  return [...ui.keysMenu.querySelectorAll<HTMLButtonElement>("button")];
}

function openKeysMenu(): void {
  ui.keysMenu.hidden = false;
  ui.keys.setAttribute("aria-expanded", "true");
  menuItems()[0]?.focus();
}

function closeKeysMenu(focusButton = false): void {
  if (ui.keysMenu.hidden) return;
  ui.keysMenu.hidden = true;
  ui.keys.setAttribute("aria-expanded", "false");
  if (focusButton) ui.keys.focus();
}

ui.keys.addEventListener("click", () => (ui.keysMenu.hidden ? openKeysMenu() : closeKeysMenu()));
ui.keysMenu.addEventListener("keydown", (e) => {
  const items = menuItems();
  const i = items.indexOf(document.activeElement as HTMLButtonElement);
  const move = (to: number) => items[(to + items.length) % items.length]?.focus();
  if (e.key === "ArrowDown") move(i + 1);
  else if (e.key === "ArrowUp") move(i - 1);
  else if (e.key === "Home") move(0);
  else if (e.key === "End") move(items.length - 1);
  else if (e.key === "Escape" || e.key === "Tab") closeKeysMenu(true);
  else return;
  e.preventDefault();
});
document.addEventListener("click", (e) => {
  if (!ui.keysMenu.hidden && !(e.target as Element).closest(".menu-wrap")) closeKeysMenu();
});

ui.cad.addEventListener("click", () => {
  rfb?.sendCtrlAltDel();
  rfb?.focus({ preventScroll: true });
});

ui.scale.value = params.scale;
ui.scale.addEventListener("change", () => applyScale(ui.scale.value as ScaleMode));

ui.fullscreen.addEventListener("click", async () => {
  if (document.fullscreenElement) {
    await document.exitFullscreen().catch(() => {});
    return;
  }
  await document.documentElement.requestFullscreen().catch(() => {});
  // Keyboard Lock lets Esc, Alt+Tab, Ctrl+W etc. reach the VM while full screen (Chromium only).
  const kb = (navigator as Navigator & { keyboard?: { lock?: () => Promise<void> } }).keyboard;
  await kb?.lock?.().catch(() => {});
  rfb?.focus({ preventScroll: true });
});
document.addEventListener("fullscreenchange", () => {
  const on = document.fullscreenElement !== null;
  ui.fullscreen.textContent = on ? "Exit full screen" : "Full screen";
  if (!on) (navigator as Navigator & { keyboard?: { unlock?: () => void } }).keyboard?.unlock?.();
});

ui.reconnect.addEventListener("click", () => {
  if (!ticketStillValid()) return;
  userDisconnected = false;
  attempt = 0;
  connect();
});
ui.disconnect.addEventListener("click", () => {
  stopRetry();
  userDisconnected = true;
  rfb?.disconnect();
});

// Paste as keystrokes: one character at a time, paced, so slow consoles (BIOS, PS/2 buffers)
// do not drop keys.
const TYPE_PACE_MS = 12;

ui.type.addEventListener("click", () => {
  ui.typeProgress.textContent = "";
  ui.typeDialog.showModal();
  ui.typeText.focus();
});
ui.typeCancel.addEventListener("click", () => ui.typeDialog.close());
// Closing the dialog any way (button, Esc) stops a typing run.
ui.typeDialog.addEventListener("close", () => {
  if (typing) typing.cancel = true;
});
ui.typeSend.addEventListener("click", async () => {
  if (!rfb || typing) return;
  const chars = [...ui.typeText.value.replace(/\r\n?/g, "\n")];
  const job = { cancel: false };
  typing = job;
  ui.typeSend.disabled = true;
  try {
    for (let i = 0; i < chars.length && !job.cancel && rfb; i++) {
      sendStrokes(textToStrokes(chars[i]!));
      if (i % 10 === 0) ui.typeProgress.textContent = `Typing ${i + 1} of ${chars.length}…`;
      await new Promise((r) => setTimeout(r, TYPE_PACE_MS));
    }
    ui.typeProgress.textContent = job.cancel ? "Stopped." : `Typed ${chars.length} characters.`;
    if (!job.cancel) {
      ui.typeDialog.close();
      rfb?.focus({ preventScroll: true });
    }
  } finally {
    typing = null;
    ui.typeSend.disabled = false;
  }
});

ui.clipboard.addEventListener("click", () => {
  ui.clipDialog.showModal();
  ui.clipText.focus();
});
ui.clipCancel.addEventListener("click", () => ui.clipDialog.close());
ui.clipSend.addEventListener("click", () => {
  rfb?.clipboardPasteFrom(ui.clipText.value);
  ui.clipDialog.close();
  rfb?.focus({ preventScroll: true });
});

// ---------------------------------------------------------------- start

buildKeysMenu();
setTitle(params.title);
if (params.viewOnly) document.body.classList.add("view-only");
takeMessages(onMessage);
if (engineOrigins.length === 0) {
  setState("waiting", "No engine origin configured", {
    title: "Waiting for the engine",
    text: "The proxy has no engine origin configured (serve --engine-origin), so no engine can hand this page a ticket.",
  });
} else {
  setState("waiting", "Waiting for the engine…", {
    title: "Waiting for the engine",
    text: "This console opens when the oVirt engine hands it a connection ticket.",
  });
}
announceReady();
