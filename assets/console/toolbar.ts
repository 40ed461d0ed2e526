/**
 * The console's toolbar: Ctrl+Alt+Del, the special-keys menu (groups from keys.ts), "type text",
 * clipboard, scaling, full screen, Reconnect and Disconnect. It reaches the live session only
 * through `rfb()` and the two callbacks; which buttons work comes from the connection view.
 */
import type RFB from "@novnc/novnc";
import { byId, byIds } from "./dom.ts";
import type { ScaleMode } from "./handoff.ts";
import { SPECIAL_KEY_GROUPS, chord, textToStrokes, type KeyStroke } from "./keys.ts";
import type { ConnectionView } from "./connection.ts";

export interface ToolbarOptions {
  /** The live session, or null between sessions. */
  rfb: () => RFB | null;
  initialScale: ScaleMode;
  onReconnect: () => void;
  onDisconnect: () => void;
}

export interface Toolbar {
  /** Enables and shows buttons for the connection's state. */
  render(view: Pick<ConnectionView, "inputEnabled" | "canRetry" | "canDisconnect">): void;
  /** The scaling chosen in the toolbar, for a new session. */
  scale(): ScaleMode;
  /** Text the VM copied, shown in the clipboard dialog. */
  showClipboard(text: string): void;
}

// Paste as keystrokes: one character at a time, paced, so slow consoles (BIOS, PS/2 buffers)
// do not drop keys.
const TYPE_PACE_MS = 12;

/** Applies a scaling mode to a session. */
export function applyScale(rfb: RFB | null, mode: ScaleMode): void {
  if (!rfb) return;
  rfb.scaleViewport = mode === "fit";
  rfb.resizeSession = mode === "remote";
  rfb.clipViewport = false;
}

/** Wires every toolbar control once, at start-up. */
export function setupToolbar(opts: ToolbarOptions): Toolbar {
  const B = HTMLButtonElement;
  const btn = byIds("btn-", { cad: B, keys: B, type: B, clipboard: B, fullscreen: B, reconnect: B, disconnect: B });
  const typeBox = byIds("type-", { dialog: HTMLDialogElement, text: HTMLTextAreaElement, progress: HTMLElement, send: B, cancel: B });
  const clipBox = byIds("clipboard-", { dialog: HTMLDialogElement, text: HTMLTextAreaElement, send: B, cancel: B });
  const keysMenu = byId("keys-menu");
  const scale = byId<HTMLSelectElement>("scale");
  const focusVm = () => opts.rfb()?.focus({ preventScroll: true });
  const sendStrokes = (strokes: readonly KeyStroke[]) => {
    for (const s of strokes) opts.rfb()?.sendKey(s.keysym, s.code, s.down);
  };

  // ------------------------------------------------------------ special keys menu
  const menuItems = () => [...keysMenu.querySelectorAll<HTMLButtonElement>("button")];
  const openKeysMenu = () => {
    keysMenu.hidden = false;
    btn.keys.setAttribute("aria-expanded", "true");
    menuItems()[0]?.focus();
  };
  const closeKeysMenu = (focusButton = false) => {
    if (keysMenu.hidden) return;
    keysMenu.hidden = true;
    btn.keys.setAttribute("aria-expanded", "false");
    if (focusButton) btn.keys.focus();
  };
  SPECIAL_KEY_GROUPS.forEach((group, g) => {
    if (g > 0) keysMenu.appendChild(document.createElement("hr"));
    for (const k of group.keys) {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "menuitem");
      b.dataset.key = k.id;
      b.textContent = k.label;
      b.tabIndex = -1;
      b.addEventListener("click", () => {
        sendStrokes(chord(k.keys));
        closeKeysMenu();
        focusVm();
      });
      keysMenu.appendChild(b);
    }
  });
  btn.keys.addEventListener("click", () => (keysMenu.hidden ? openKeysMenu() : closeKeysMenu()));
  keysMenu.addEventListener("keydown", (e) => {
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
    if (!keysMenu.hidden && !(e.target as Element).closest(".menu-wrap")) closeKeysMenu();
  });

  btn.cad.addEventListener("click", () => {
    opts.rfb()?.sendCtrlAltDel();
    focusVm();
  });

  // ------------------------------------------------------------ view
  scale.value = opts.initialScale;
  scale.addEventListener("change", () => applyScale(opts.rfb(), scale.value as ScaleMode));

  btn.fullscreen.addEventListener("click", async () => {
    if (document.fullscreenElement) {
      await document.exitFullscreen().catch(() => {});
      return;
    }
    await document.documentElement.requestFullscreen().catch(() => {});
    // Keyboard Lock lets Esc, Alt+Tab, Ctrl+W etc. reach the VM while full screen (Chromium only).
    const kb = (navigator as Navigator & { keyboard?: { lock?: () => Promise<void> } }).keyboard;
    await kb?.lock?.().catch(() => {});
    focusVm();
  });
  document.addEventListener("fullscreenchange", () => {
    const on = document.fullscreenElement !== null;
    btn.fullscreen.textContent = on ? "Exit full screen" : "Full screen";
    if (!on) (navigator as Navigator & { keyboard?: { unlock?: () => void } }).keyboard?.unlock?.();
  });

  btn.reconnect.addEventListener("click", opts.onReconnect);
  btn.disconnect.addEventListener("click", opts.onDisconnect);

  // ------------------------------------------------------------ type text
  let typing: { cancel: boolean } | null = null;
  btn.type.addEventListener("click", () => {
    typeBox.progress.textContent = "";
    typeBox.dialog.showModal();
    typeBox.text.focus();
  });
  typeBox.cancel.addEventListener("click", () => typeBox.dialog.close());
  // Closing the dialog any way (button, Esc) stops a typing run.
  typeBox.dialog.addEventListener("close", () => {
    if (typing) typing.cancel = true;
  });
  typeBox.send.addEventListener("click", async () => {
    if (!opts.rfb() || typing) return;
    const chars = [...typeBox.text.value.replace(/\r\n?/g, "\n")];
    const job = { cancel: false };
    typing = job;
    typeBox.send.disabled = true;
    try {
      for (let i = 0; i < chars.length && !job.cancel && opts.rfb(); i++) {
        sendStrokes(textToStrokes(chars[i]!));
        if (i % 10 === 0) typeBox.progress.textContent = `Typing ${i + 1} of ${chars.length}…`;
        await new Promise((r) => setTimeout(r, TYPE_PACE_MS));
      }
      typeBox.progress.textContent = job.cancel ? "Stopped." : `Typed ${chars.length} characters.`;
      if (!job.cancel) {
        typeBox.dialog.close();
        focusVm();
      }
    } finally {
      typing = null;
      typeBox.send.disabled = false;
    }
  });

  // ------------------------------------------------------------ clipboard
  btn.clipboard.addEventListener("click", () => {
    clipBox.dialog.showModal();
    clipBox.text.focus();
  });
  clipBox.cancel.addEventListener("click", () => clipBox.dialog.close());
  clipBox.send.addEventListener("click", () => {
    opts.rfb()?.clipboardPasteFrom(clipBox.text.value);
    clipBox.dialog.close();
    focusVm();
  });

  return {
    render(view) {
      for (const b of [btn.cad, btn.keys, btn.type, btn.clipboard]) b.disabled = !view.inputEnabled;
      btn.reconnect.hidden = !view.canRetry;
      btn.disconnect.hidden = !view.canDisconnect;
      if (!view.inputEnabled) closeKeysMenu();
    },
    scale: () => scale.value as ScaleMode,
    showClipboard(text) {
      clipBox.text.value = text;
    },
  };
}
