import { describe, expect, test } from "bun:test";
import { SPECIAL_KEYS, SPECIAL_KEY_GROUPS, chord, functionKey, keysymForCodePoint, textToStrokes, KEY, XK } from "../../assets/console/keys.ts";

/** Strokes as "+sym" / "-sym" with the keysym in hex, for readable expectations. */
function compact(strokes: { keysym: number; down: boolean }[]): string {
  return strokes.map((s) => `${s.down ? "+" : "-"}${s.keysym.toString(16)}`).join(" ");
}

describe("chord", () => {
  test("presses keys in order and releases them in reverse", () => {
    expect(compact(chord([KEY.ctrl, KEY.alt, KEY.del]))).toBe("+ffe3 +ffe9 +ffff -ffff -ffe9 -ffe3");
  });
});

describe("special keys", () => {
  test("the menu has Ctrl+Alt+F1..F12, Ctrl+Alt+Backspace, PrintScreen, SysRq, Esc, Tab and the Windows key", () => {
    const ids = SPECIAL_KEYS.map((k) => k.id);
    for (let n = 1; n <= 12; n++) expect(ids).toContain(`ctrl-alt-f${n}`);
    for (const id of ["ctrl-alt-del", "ctrl-alt-backspace", "print", "sysrq", "esc", "tab", "win"]) expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("the menu's groups are session keys, the twelve virtual terminals, then single keys", () => {
    expect(SPECIAL_KEY_GROUPS.map((g) => g.keys.map((k) => k.id))).toEqual([
      ["ctrl-alt-del", "ctrl-alt-backspace"],
      Array.from({ length: 12 }, (_, i) => `ctrl-alt-f${i + 1}`),
      ["print", "sysrq", "esc", "tab", "win"],
    ]);
  });

  test.each([
    [1, 0xffbe, "F1"],
    [12, 0xffc9, "F12"],
  ])("function key %i is keysym %i with code %s", (n, keysym, code) => {
    expect(functionKey(n)).toEqual({ keysym, code });
  });

  test("the Windows key is Super_L on the left Meta key", () => {
    const win = SPECIAL_KEYS.find((k) => k.id === "win")!;
    expect(chord(win.keys)).toEqual([
      { keysym: XK.Super_L, code: "MetaLeft", down: true },
      { keysym: XK.Super_L, code: "MetaLeft", down: false },
    ]);
  });
});

describe("textToStrokes", () => {
  test.each([
    ["a", "+61 -61"],
    ["A", "+ffe1 +41 -41 -ffe1"],
    ["1!", "+31 -31 +ffe1 +21 -21 -ffe1"],
    [" ", "+20 -20"],
    ["\n", "+ff0d -ff0d"],
    ["\r\n", "+ff0d -ff0d"],
    ["\r", "+ff0d -ff0d"],
    ["\t", "+ff09 -ff09"],
    ['~_+{}|:"<>?', "+ffe1 +7e -7e -ffe1 +ffe1 +5f -5f -ffe1 +ffe1 +2b -2b -ffe1 +ffe1 +7b -7b -ffe1 +ffe1 +7d -7d -ffe1 +ffe1 +7c -7c -ffe1 +ffe1 +3a -3a -ffe1 +ffe1 +22 -22 -ffe1 +ffe1 +3c -3c -ffe1 +ffe1 +3e -3e -ffe1 +ffe1 +3f -3f -ffe1"],
    ["é", "+e9 -e9"],
    ["€", "+10020ac -10020ac"],
    ["\u0007\u007f", ""],
    ["", ""],
  ])("%j types as %s", (text, expected) => {
    expect(compact(textToStrokes(text))).toBe(expected);
  });

  test("letters and digits carry their US-layout physical code for QEMU's scancode events", () => {
    const [down] = textToStrokes("q");
    expect(down).toEqual({ keysym: 0x71, code: "KeyQ", down: true });
    const shifted = textToStrokes("@");
    expect(shifted[1]).toEqual({ keysym: 0x40, code: "Digit2", down: true });
  });

  test("characters outside US ASCII have no physical code", () => {
    expect(textToStrokes("ü")[0]!.code).toBeNull();
  });

  test("every key pressed is released", () => {
    const strokes = textToStrokes("Hello, World!\n\tpassw0rd#");
    const held = new Map<number, number>();
    for (const s of strokes) held.set(s.keysym, (held.get(s.keysym) ?? 0) + (s.down ? 1 : -1));
    expect([...held.values()].every((v) => v === 0)).toBe(true);
  });
});

describe("keysymForCodePoint", () => {
  test.each([
    [0x41, 0x41],
    [0xa0, 0xa0],
    [0xff, 0xff],
    [0x100, 0x1000100],
    [0x1f600, 0x101f600],
  ])("U+%i is keysym %i", (cp, keysym) => {
    expect(keysymForCodePoint(cp)).toBe(keysym);
  });
});
