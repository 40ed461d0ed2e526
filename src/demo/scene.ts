/**
 * What the demo VNC server shows: a title banner, a clock, a text box that echoes typed keys,
 * a status line naming the last key and pointer state, and a canvas where the pointer leaves a
 * trail (dots stay while a button is held). The picture is non-uniform from the first frame, so
 * tests and people can tell a real picture from a blank screen.
 */
import { CELL_HEIGHT, CELL_WIDTH, Framebuffer, type Rect } from "./framebuffer.ts";

const BANNER_BG = 0x1d2b53;
const BANNER_FG = 0xffec27;
const CLOCK_FG = 0xc2c3c7;
const BOX_BG = 0x0b1220;
const BOX_BORDER = 0x29adff;
const TEXT_FG = 0xfff1e8;
const STATUS_FG = 0x00e436;
const BUTTON_COLOURS = [0xffa300, 0xff004d, 0x00e436, 0x29adff];
/** Hover dots kept before the oldest is erased. */
const TRAIL_LENGTH = 64;
const DOT = 6;

/** Names for the keysyms a console user sends most (X11 keysymdef.h). */
const KEY_NAMES: Record<number, string> = {
  0xff08: "BackSpace",
  0xff09: "Tab",
  0xff0d: "Return",
  0xff1b: "Escape",
  0xff50: "Home",
  0xff51: "Left",
  0xff52: "Up",
  0xff53: "Right",
  0xff54: "Down",
  0xff57: "End",
  0xff61: "Print",
  0xff15: "Sys_Req",
  0xffe1: "Shift_L",
  0xffe2: "Shift_R",
  0xffe3: "Control_L",
  0xffe4: "Control_R",
  0xffe9: "Alt_L",
  0xffea: "Alt_R",
  0xffeb: "Super_L",
  0xffec: "Super_R",
  0xffff: "Delete",
};

/** A keysym's printable name: `a`, `F5`, `Control_L`, or its hex value. */
export function keysymName(keysym: number): string {
  if (keysym >= 0x20 && keysym <= 0x7e) return String.fromCharCode(keysym);
  if (keysym >= 0xffbe && keysym <= 0xffc9) return `F${keysym - 0xffbe + 1}`;
  return KEY_NAMES[keysym] ?? `0x${keysym.toString(16).padStart(4, "0")}`;
}

function background(x: number, y: number, w: number, h: number): number {
  if (x % 40 === 0 || y % 40 === 0) return 0x3a4466;
  const r = 24 + Math.floor((x * 48) / w);
  const g = 28 + Math.floor((y * 64) / h);
  const b = 72 + Math.floor(((x + y) * 96) / (w + h));
  return (r << 16) | (g << 8) | b;
}

export class DemoScene {
  readonly fb: Framebuffer;
  private readonly banner: Rect;
  private readonly clock: Rect;
  private readonly box: Rect;
  private readonly status: Rect;
  private readonly canvas: Rect;
  private readonly cols: number;
  private readonly rows: number;
  private lines: string[] = [""];
  private readonly held = new Set<number>();
  private readonly trail: Rect[] = [];
  private statusText = "";
  private lastClock = "";

  constructor(
    width: number,
    height: number,
    private readonly title = "novnc-proxy demo",
    now: Date = new Date(),
  ) {
    this.fb = new Framebuffer(width, height);
    this.banner = { x: 0, y: 0, width, height: 56 };
    this.clock = { x: Math.max(0, width - 168), y: 12, width: 160, height: CELL_HEIGHT * 3 };
    this.box = { x: 16, y: 100, width: Math.max(0, width - 32), height: Math.min(200, Math.max(0, height - 200)) };
    this.status = { x: 16, y: this.box.y + this.box.height + 8, width: Math.max(0, width - 32), height: CELL_HEIGHT * 2 };
    this.canvas = { x: 0, y: this.status.y + this.status.height + 4, width, height: 0 };
    this.canvas.height = Math.max(0, height - this.canvas.y);
    this.cols = Math.max(1, Math.floor((this.box.width - 16) / (CELL_WIDTH * 2)));
    this.rows = Math.max(1, Math.floor((this.box.height - 16) / (CELL_HEIGHT * 2)));

    this.fb.paint({ x: 0, y: 0, width, height }, (x, y) => background(x, y, width, height));
    this.fb.fillRect(this.banner, BANNER_BG);
    this.fb.drawText(16, 10, this.title, BANNER_FG, 4);
    this.fb.drawText(16, 66, "Type on the keyboard, move and click the mouse. Esc clears.", TEXT_FG, 2);
    this.drawBox();
    this.setStatus("waiting for input");
    this.tick(now);
  }

  /** Redraws the clock when the displayed second changed. */
  tick(now: Date): void {
    const text = now.toTimeString().slice(0, 8);
    if (text === this.lastClock) return;
    this.lastClock = text;
    this.fb.fillRect(this.clock, BANNER_BG);
    this.fb.drawText(this.clock.x, this.clock.y, text, CLOCK_FG, 3);
  }

  key(down: boolean, keysym: number): void {
    if (!down) {
      this.held.delete(keysym);
      return;
    }
    this.held.add(keysym);
    const ctrl = this.held.has(0xffe3) || this.held.has(0xffe4);
    const alt = this.held.has(0xffe9) || this.held.has(0xffea);
    if (keysym === 0xffff && ctrl && alt) {
      this.setStatus("Ctrl-Alt-Del received");
      return;
    }
    this.setStatus(`key ${keysymName(keysym)} (0x${keysym.toString(16)})`);
    if (keysym === 0xff1b) {
      this.lines = [""];
      this.clearCanvas();
    } else if (keysym === 0xff0d) {
      this.newLine();
    } else if (keysym === 0xff08) {
      const last = this.lines.length - 1;
      this.lines[last] = this.lines[last]!.slice(0, -1);
    } else if (keysym >= 0x20 && keysym <= 0xff && !ctrl) {
      this.type(String.fromCharCode(keysym));
    } else {
      return;
    }
    this.drawBox();
  }

  pointer(x: number, y: number, buttons: number): void {
    this.setStatus(`pointer ${x},${y} buttons ${buttons}`);
    const dot = { x: x - DOT / 2, y: y - DOT / 2, width: DOT, height: DOT };
    const c = this.canvas;
    if (dot.x < c.x || dot.y < c.y || dot.x + DOT > c.x + c.width || dot.y + DOT > c.y + c.height) return;
    const colour = BUTTON_COLOURS[buttons & 1 ? 1 : buttons & 2 ? 2 : buttons & 4 ? 3 : 0]!;
    if (buttons & 7) {
      this.fb.fillRect({ x: dot.x - 2, y: dot.y - 2, width: DOT + 4, height: DOT + 4 }, colour);
      return;
    }
    this.fb.fillRect(dot, colour);
    this.trail.push(dot);
    if (this.trail.length > TRAIL_LENGTH) this.erase(this.trail.shift()!);
  }

  /** Text from the client's clipboard is typed into the box. */
  cutText(text: string): void {
    this.setStatus(`clipboard: ${text.length} characters`);
    for (const ch of text) {
      if (ch === "\n") this.newLine();
      else if (ch >= " ") this.type(ch);
    }
    this.drawBox();
  }

  private type(ch: string): void {
    const last = this.lines.length - 1;
    if (this.lines[last]!.length >= this.cols) this.newLine();
    this.lines[this.lines.length - 1] += ch;
  }

  private newLine(): void {
    this.lines.push("");
    while (this.lines.length > this.rows) this.lines.shift();
  }

  private drawBox(): void {
    const b = this.box;
    this.fb.fillRect(b, BOX_BORDER);
    this.fb.fillRect({ x: b.x + 2, y: b.y + 2, width: b.width - 4, height: b.height - 4 }, BOX_BG);
    this.lines.forEach((line, i) => {
      const cursor = i === this.lines.length - 1 ? "_" : "";
      this.fb.drawText(b.x + 8, b.y + 8 + i * CELL_HEIGHT * 2, line + cursor, TEXT_FG, 2);
    });
  }

  private setStatus(text: string): void {
    if (text === this.statusText) return;
    this.statusText = text;
    const s = this.status;
    this.fb.paint(s, (x, y) => background(x, y, this.fb.width, this.fb.height));
    this.fb.drawText(s.x, s.y, text.slice(0, Math.floor(s.width / (CELL_WIDTH * 2))), STATUS_FG, 2);
  }

  private erase(r: Rect): void {
    this.fb.paint(r, (x, y) => background(x, y, this.fb.width, this.fb.height));
  }

  private clearCanvas(): void {
    this.trail.length = 0;
    this.erase(this.canvas);
  }
}
