/**
 * The console's toolbar: Ctrl+Alt+Del, the special-keys menu (groups from keys.ts), "type text",
 * clipboard, scaling, full screen, Reconnect and Disconnect. It reaches the live session only
 * through `rfb()` and the two callbacks; which buttons work comes from the connection view.
 */
import type RFB from "@novnc/novnc";
import { byId } from "./dom.ts";
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
  const ui = {
    cad: byId<HTMLButtonElement>("btn-cad"),
    keys: byId<HTMLButtonElement>("btn-keys"),
    keysMenu: byId("keys-menu"),
    type: byId<HTMLButtonElement>("btn-type"),
    clipboard: byId<HTMLButtonElement>("btn-clipboard"),
    scale: byId<HTMLSelectElement>("scale"),
    fullscreen: byId<HTMLButtonElement>("btn-fullscreen"),
    reconnect: byId<HTMLButtonElement>("btn-reconnect"),
    disconnect: byId<HTMLButtonElement>("btn-disconnect"),
    typeDialog: byId<HTMLDialogElement>("type-dialog"),
    typeText: byId<HTMLTextAreaElement>("type-text"),
    typeProgress: byId("type-progress"),
    typeSend: byId<HTMLButtonElement>("type-send"),
    typeCancel: byId<HTMLButtonElement>("type-cancel"),
    clipDialog: byId<HTMLDialogElement>("clipboard-dialog"),
    clipText: byId<HTMLTextAreaElement>("clipboard-text"),
    clipSend: byId<HTMLButtonElement>("clipboard-send"),
    clipCancel: byId<HTMLButtonElement>("clipboard-cancel"),
  };
  const focusVm = () => opts.rfb()?.focus({ preventScroll: true });
  const sendStrokes = (strokes: readonly KeyStroke[]) => {
    for (const s of strokes) opts.rfb()?.sendKey(s.keysym, s.code, s.down);
  };

  // ------------------------------------------------------------ special keys menu
  const menuItems = () => [...ui.keysMenu.querySelectorAll<HTMLButtonElement>("button")];
  const openKeysMenu = () => {
    ui.keysMenu.hidden = false;
    ui.keys.setAttribute("aria-expanded", "true");
    menuItems()[0]?.focus();
  };
  const closeKeysMenu = (focusButton = false) => {
    if (ui.keysMenu.hidden) return;
    ui.keysMenu.hidden = true;
    ui.keys.setAttribute("aria-expanded", "false");
    if (focusButton) ui.keys.focus();
  };
  SPECIAL_KEY_GROUPS.forEach((group, g) => {
    if (g > 0) ui.keysMenu.appendChild(document.createElement("hr"));
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
      ui.keysMenu.appendChild(b);
    }
  });
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
    opts.rfb()?.sendCtrlAltDel();
    focusVm();
  });

  // ------------------------------------------------------------ view
  ui.scale.value = opts.initialScale;
  ui.scale.addEventListener("change", () => applyScale(opts.rfb(), ui.scale.value as ScaleMode));

  ui.fullscreen.addEventListener("click", async () => {
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
    ui.fullscreen.textContent = on ? "Exit full screen" : "Full screen";
    if (!on) (navigator as Navigator & { keyboard?: { unlock?: () => void } }).keyboard?.unlock?.();
  });

  ui.reconnect.addEventListener("click", opts.onReconnect);
  ui.disconnect.addEventListener("click", opts.onDisconnect);

  // ------------------------------------------------------------ type text
  let typing: { cancel: boolean } | null = null;
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
    if (!opts.rfb() || typing) return;
    const chars = [...ui.typeText.value.replace(/\r\n?/g, "\n")];
    const job = { cancel: false };
    typing = job;
    ui.typeSend.disabled = true;
    try {
      for (let i = 0; i < chars.length && !job.cancel && opts.rfb(); i++) {
        sendStrokes(textToStrokes(chars[i]!));
        if (i % 10 === 0) ui.typeProgress.textContent = `Typing ${i + 1} of ${chars.length}…`;
        await new Promise((r) => setTimeout(r, TYPE_PACE_MS));
      }
      ui.typeProgress.textContent = job.cancel ? "Stopped." : `Typed ${chars.length} characters.`;
      if (!job.cancel) {
        ui.typeDialog.close();
        focusVm();
      }
    } finally {
      typing = null;
      ui.typeSend.disabled = false;
    }
  });

  // ------------------------------------------------------------ clipboard
  ui.clipboard.addEventListener("click", () => {
    ui.clipDialog.showModal();
    ui.clipText.focus();
  });
  ui.clipCancel.addEventListener("click", () => ui.clipDialog.close());
  ui.clipSend.addEventListener("click", () => {
    opts.rfb()?.clipboardPasteFrom(ui.clipText.value);
    ui.clipDialog.close();
    focusVm();
  });

  return {
    render(view) {
      for (const b of [ui.cad, ui.keys, ui.type, ui.clipboard]) b.disabled = !view.inputEnabled;
      ui.reconnect.hidden = !view.canRetry;
      ui.disconnect.hidden = !view.canDisconnect;
      if (!view.inputEnabled) closeKeysMenu();
    },
    scale: () => ui.scale.value as ScaleMode,
    showClipboard(text) {
      ui.clipText.value = text;
    },
  };
}
