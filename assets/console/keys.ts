/**
 * Key events the console sends on its own: the special-keys menu and "paste as keystrokes".
 *
 * Pure data and functions (no DOM, no noVNC) so they can be unit-tested: everything is turned
 * into a flat list of key-down / key-up strokes that the page feeds to `rfb.sendKey`.
 * Each stroke carries the X11 keysym and, where one exists, the US-layout physical key `code`:
 * noVNC uses the code for QEMU's extended key events (exact scancodes, which BIOS screens and
 * installers need), and the keysym for every other server.
 */

/** One key event, as `rfb.sendKey(keysym, code, down)` takes it. */
export interface KeyStroke {
  keysym: number;
  code: string | null;
  down: boolean;
}

/** A key: its keysym and physical code. */
export interface Key {
  keysym: number;
  code: string | null;
}

/** X11 keysyms used by the console (from X11/keysymdef.h). */
export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Sys_Req: 0xff15,
  Escape: 0xff1b,
  Delete: 0xffff,
  Print: 0xff61,
  F1: 0xffbe,
  Shift_L: 0xffe1,
  Control_L: 0xffe3,
  Alt_L: 0xffe9,
  Super_L: 0xffeb,
} as const;

export const KEY = {
  shift: { keysym: XK.Shift_L, code: "ShiftLeft" },
  ctrl: { keysym: XK.Control_L, code: "ControlLeft" },
  alt: { keysym: XK.Alt_L, code: "AltLeft" },
  win: { keysym: XK.Super_L, code: "MetaLeft" },
  del: { keysym: XK.Delete, code: "Delete" },
  backspace: { keysym: XK.BackSpace, code: "Backspace" },
  tab: { keysym: XK.Tab, code: "Tab" },
  enter: { keysym: XK.Return, code: "Enter" },
  esc: { keysym: XK.Escape, code: "Escape" },
  print: { keysym: XK.Print, code: "PrintScreen" },
  // No physical code: QEMU maps the Sys_Req keysym to the Alt+PrintScreen scancode itself.
  sysrq: { keysym: XK.Sys_Req, code: null },
} as const satisfies Record<string, Key>;

/** Function key n (1..12). */
export function functionKey(n: number): Key {
  return { keysym: XK.F1 + n - 1, code: `F${n}` };
}

/** Press the keys in order, release them in reverse: a chord such as Ctrl+Alt+Del. */
export function chord(keys: readonly Key[]): KeyStroke[] {
  const down = keys.map((k) => ({ keysym: k.keysym, code: k.code, down: true }));
  const up = [...keys].reverse().map((k) => ({ keysym: k.keysym, code: k.code, down: false }));
  return [...down, ...up];
}

/** An entry of the special-keys menu. */
export interface SpecialKey {
  id: string;
  label: string;
  keys: readonly Key[];
}

/** A run of related entries in the special-keys menu; the page draws a separator between groups. */
export interface SpecialKeyGroup {
  name: string;
  keys: readonly SpecialKey[];
}

/** The special-keys menu, in display order, by group. */
export const SPECIAL_KEY_GROUPS: readonly SpecialKeyGroup[] = [
  {
    name: "session",
    keys: [
      { id: "ctrl-alt-del", label: "Ctrl+Alt+Del", keys: [KEY.ctrl, KEY.alt, KEY.del] },
      { id: "ctrl-alt-backspace", label: "Ctrl+Alt+Backspace", keys: [KEY.ctrl, KEY.alt, KEY.backspace] },
    ],
  },
  {
    name: "virtual terminals",
    keys: Array.from({ length: 12 }, (_, i) => ({
      id: `ctrl-alt-f${i + 1}`,
      label: `Ctrl+Alt+F${i + 1}`,
      keys: [KEY.ctrl, KEY.alt, functionKey(i + 1)],
    })),
  },
  {
    name: "single keys",
    keys: [
      { id: "print", label: "PrintScreen", keys: [KEY.print] },
      { id: "sysrq", label: "SysRq (Alt+SysRq)", keys: [KEY.alt, KEY.sysrq] },
      { id: "esc", label: "Esc", keys: [KEY.esc] },
      { id: "tab", label: "Tab", keys: [KEY.tab] },
      { id: "win", label: "Windows key", keys: [KEY.win] },
    ],
  },
];

/** Every special key, in menu order. */
export const SPECIAL_KEYS: readonly SpecialKey[] = SPECIAL_KEY_GROUPS.flatMap((g) => g.keys);

/** US-layout keys for printable ASCII: [unshifted, shifted] characters per physical key. */
const US_KEYS: readonly [string, string, string][] = [
  ["Backquote", "`", "~"],
  ["Digit1", "1", "!"],
  ["Digit2", "2", "@"],
  ["Digit3", "3", "#"],
  ["Digit4", "4", "$"],
  ["Digit5", "5", "%"],
  ["Digit6", "6", "^"],
  ["Digit7", "7", "&"],
  ["Digit8", "8", "*"],
  ["Digit9", "9", "("],
  ["Digit0", "0", ")"],
  ["Minus", "-", "_"],
  ["Equal", "=", "+"],
  ["BracketLeft", "[", "{"],
  ["BracketRight", "]", "}"],
  ["Backslash", "\\", "|"],
  ["Semicolon", ";", ":"],
  ["Quote", "'", '"'],
  ["Comma", ",", "<"],
  ["Period", ".", ">"],
  ["Slash", "/", "?"],
  ["Space", " ", " "],
];

/** char -> physical code and whether Shift is held, for the US layout. */
const US_LAYOUT: ReadonlyMap<string, { code: string; shift: boolean }> = (() => {
  const m = new Map<string, { code: string; shift: boolean }>();
  for (const [code, plain, shifted] of US_KEYS) {
    m.set(plain, { code, shift: false });
    if (shifted !== plain) m.set(shifted, { code, shift: true });
  }
  for (let c = 0; c < 26; c++) {
    const lower = String.fromCharCode(97 + c);
    const code = `Key${lower.toUpperCase()}`;
    m.set(lower, { code, shift: false });
    m.set(lower.toUpperCase(), { code, shift: true });
  }
  return m;
})();

/** The keysym X11 uses for a Unicode code point (Latin-1 direct, the rest 0x01000000 + cp). */
export function keysymForCodePoint(cp: number): number {
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  return 0x01000000 + cp;
}

/**
 * The strokes that type `text` on a US-layout guest: Shift is pressed around upper-case letters
 * and shifted symbols, a newline (LF, CR or CRLF) is Return, a tab is Tab. Other control
 * characters are skipped; characters outside US ASCII are sent as their Unicode keysym (servers
 * that map keysyms, such as X servers, type them; QEMU may not).
 */
export function textToStrokes(text: string): KeyStroke[] {
  const out: KeyStroke[] = [];
  const tap = (k: Key) => out.push(...chord([k]));
  const normalised = text.replace(/\r\n?/g, "\n");
  for (const ch of normalised) {
    if (ch === "\n") {
      tap(KEY.enter);
      continue;
    }
    if (ch === "\t") {
      tap(KEY.tab);
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp === 0x7f) continue;
    const us = US_LAYOUT.get(ch);
    const key: Key = { keysym: keysymForCodePoint(cp), code: us?.code ?? null };
    out.push(...(us?.shift ? chord([KEY.shift, key]) : chord([key])));
  }
  return out;
}
