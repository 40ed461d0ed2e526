/**
 * The console page in a real Chromium, end to end: an "engine" page on another origin opens the
 * console served by the proxy, hands it a ticket by postMessage, and noVNC connects through the
 * proxy to a real RFB server (the built-in demo server; QEMU in console-qemu.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startDemoVncServer, type DemoVncServer } from "../../src/demo/vnc-server.ts";
import {
  canvasColourCount,
  launchBrowser,
  openConsole,
  postToConsole,
  startEnginePage,
  startTestProxy,
  waitForState,
  type EnginePage,
  type TestBrowser,
  type TestProxy,
} from "../helpers/browser.ts";

const ARTIFACTS = join(import.meta.dir, "..", "artifacts");
const PASSWORD = "s3cret!x";

let browser: TestBrowser;
let engine: EnginePage;
let proxy: TestProxy;
let vnc: DemoVncServer;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  vnc = await startDemoVncServer({ password: PASSWORD, name: "demo-desktop" });
  engine = startEnginePage();
  proxy = await startTestProxy([engine.origin]);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  engine?.stop();
  vnc?.stop();
});

function consoleUrl(title = "demo-vm"): string {
  return `${proxy.origin}/?host=127.0.0.1&port=${proxy.server.port}&title=${encodeURIComponent(title)}`;
}

/** A fresh engine tab that has opened the console and received its ready message. */
async function engineWithConsole(title?: string): Promise<{ enginePage: Page; consolePage: Page }> {
  const enginePage = await browser.context.newPage();
  await enginePage.goto(engine.url);
  const consolePage = await openConsole(enginePage, consoleUrl(title), proxy.origin);
  return { enginePage, consolePage };
}

async function closeAll(...pages: Page[]): Promise<void> {
  for (const p of pages) await p.close().catch(() => {});
}

/** Waits until the demo server has recorded at least `n` key events after `from`. */
async function keyEventsAfter(from: number, n: number, timeoutMs = 15_000): Promise<{ down: boolean; keysym: number }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const keys = vnc.events.slice(from).filter((e) => e.type === "key") as { type: "key"; down: boolean; keysym: number }[];
    if (keys.length >= n || Date.now() > deadline) return keys.map(({ down, keysym }) => ({ down, keysym }));
    await Bun.sleep(50);
  }
}

describe("the console page against the demo VNC server", () => {
  test("connects through the ticket in the path and shows the VM's picture", async () => {
    const { enginePage, consolePage } = await engineWithConsole("demo-vm");
    await postToConsole(enginePage, { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");
    expect(await consolePage.title()).toContain("demo-vm");
    // The demo server draws a picture: wait for more than a couple of colours.
    await consolePage.waitForFunction(() => document.querySelector("#screen canvas") !== null);
    let colours = 0;
    for (let i = 0; i < 50 && colours < 4; i++) {
      colours = await canvasColourCount(consolePage);
      if (colours < 4) await Bun.sleep(100);
    }
    expect(colours).toBeGreaterThanOrEqual(4);
    await consolePage.screenshot({ path: join(ARTIFACTS, "console-demo.png") });
    await closeAll(consolePage, enginePage);
  });

  test("connects through the cookie hand-off with an empty websocket path; the __Host- cookie is cleared once the websocket is open", async () => {
    // Record what the page writes to document.cookie (the cookie itself is gone once connected).
    await browser.context.addInitScript(() => {
      const desc = Object.getOwnPropertyDescriptor(Document.prototype, "cookie")!;
      const writes: string[] = [];
      (window as unknown as { __cookieWrites: string[] }).__cookieWrites = writes;
      Object.defineProperty(document, "cookie", {
        get: () => desc.get!.call(document),
        set: (v: string) => {
          writes.push(v);
          desc.set!.call(document, v);
        },
      });
    });
    const { enginePage, consolePage } = await engineWithConsole();
    const ticket = proxy.ticket("127.0.0.1", vnc.port);
    await postToConsole(enginePage, { cookieTicket: ticket, password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");
    const writes = await consolePage.evaluate(() => (window as unknown as { __cookieWrites: string[] }).__cookieWrites);
    const set = writes.find((w) => w.startsWith(`__Host-novnc-ticket=${ticket};`));
    expect(set).toBeDefined();
    expect(set).toMatch(/; Secure; SameSite=Strict; Path=\/; Max-Age=(\d+)$/);
    // Max-Age from the ticket's 120 s validity; no Domain (a __Host- cookie may not have one).
    expect(Number(/Max-Age=(\d+)/.exec(set!)![1])).toBeLessThanOrEqual(120);
    expect(set).not.toMatch(/domain/i);
    // Cleared after the set, once the websocket opened.
    expect(writes.slice(writes.indexOf(set!) + 1)).toContain("__Host-novnc-ticket=; Secure; SameSite=Strict; Path=/; Max-Age=0");
    const cookies = await browser.context.cookies(proxy.origin);
    expect(cookies.filter((x) => /novnc-ticket/.test(x.name))).toEqual([]);
    // The VNC password is never stored: not in a cookie, the URL or web storage.
    expect(cookies.some((x) => x.value.includes(PASSWORD))).toBe(false);
    expect(consolePage.url()).not.toContain(PASSWORD);
    expect(await consolePage.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    await closeAll(consolePage, enginePage);
    await browser.context.clearCookies();
  });

  test("works framed by an engine page (frame-ancestors allows the engine origin)", async () => {
    const enginePage = await browser.context.newPage();
    await enginePage.goto(engine.url);
    const ready = await enginePage.evaluate(
      ({ url, origin }) =>
        new Promise<boolean>((resolve) => {
          window.addEventListener("message", (e) => {
            if (e.origin === origin && (e.data as { type?: string })?.type === "novnc-proxy-ready") resolve(true);
          });
          setTimeout(() => resolve(false), 10_000);
          const f = document.createElement("iframe");
          f.id = "console";
          f.width = "800";
          f.height = "600";
          f.src = url;
          document.body.appendChild(f);
        }),
      { url: consoleUrl("framed"), origin: proxy.origin },
    );
    expect(ready).toBe(true);
    await enginePage.evaluate(
      ({ msg, origin }) => (document.getElementById("console") as HTMLIFrameElement).contentWindow!.postMessage(msg, origin),
      { msg: { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: PASSWORD }, origin: proxy.origin },
    );
    const frame = enginePage.frames().find((f) => f.url().startsWith(proxy.origin))!;
    await frame.waitForFunction(() => document.body.dataset.state === "connected" || document.body.dataset.state === "failed", undefined, {
      timeout: 20_000,
    });
    expect(await frame.evaluate(() => document.body.dataset.state)).toBe("connected");
    await closeAll(enginePage);
  });

  test("ignores a ticket posted from an origin that is not an engine origin", async () => {
    const other = startEnginePage("not the engine");
    const otherPage = await browser.context.newPage();
    try {
      await otherPage.goto(other.url);
      const popup = browser.context.waitForEvent("page");
      await otherPage.evaluate((url) => {
        (window as unknown as { w: Window | null }).w = window.open(url, "foreign");
      }, consoleUrl());
      const consolePage = await popup;
      const warned = consolePage.waitForEvent("console", { predicate: (m) => m.type() === "warning" && m.text().includes("not an engine origin") });
      await consolePage.waitForLoadState("load");
      await otherPage.evaluate(
        ({ msg, origin }) => (window as unknown as { w: Window }).w.postMessage(msg, origin),
        { msg: { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: PASSWORD }, origin: proxy.origin },
      );
      await warned;
      expect(await consolePage.evaluate(() => document.body.dataset.state)).toBe("waiting");
      expect(await consolePage.locator("#screen canvas").count()).toBe(0);
      await closeAll(consolePage);
    } finally {
      await closeAll(otherPage);
      other.stop();
    }
  });

  test("shows why it failed when the VNC password is wrong", async () => {
    const { enginePage, consolePage } = await engineWithConsole();
    await postToConsole(enginePage, { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: "wrong-pw" }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("failed");
    expect(await consolePage.evaluate(() => document.body.dataset.failure)).toBe("wrong-password");
    expect(await consolePage.locator("#status-text").textContent()).toContain("Wrong VNC password");
    expect(await consolePage.locator("#overlay-text").textContent()).toContain("Wrong VNC password");
    await consolePage.screenshot({ path: join(ARTIFACTS, "console-wrong-password.png") });
    await closeAll(consolePage, enginePage);
  });

  test("shows a refusal when the proxy rejects the ticket", async () => {
    const { enginePage, consolePage } = await engineWithConsole();
    const forged = Buffer.from(JSON.stringify({ validTo: "20991231235959", data: "x" })).toString("base64");
    await postToConsole(enginePage, { connectionTicket: forged, password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("failed");
    expect(await consolePage.evaluate(() => document.body.dataset.failure)).toBe("refused");
    await closeAll(consolePage, enginePage);
  });

  test("when the VM's console goes away it says so and retries while the ticket is valid", async () => {
    const doomed = await startDemoVncServer({ password: PASSWORD });
    try {
      const { enginePage, consolePage } = await engineWithConsole();
      await postToConsole(enginePage, { connectionTicket: proxy.ticket("127.0.0.1", doomed.port), password: PASSWORD }, proxy.origin);
      expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");
      doomed.stop();
      expect(await waitForState(consolePage, ["reconnecting", "failed"])).toBe("reconnecting");
      expect(["vm-gone", "target-unreachable"]).toContain((await consolePage.evaluate(() => document.body.dataset.failure))!);
      expect(await consolePage.locator("#status-text").textContent()).toContain("Retrying in");
      await closeAll(consolePage, enginePage);
    } finally {
      doomed.stop();
    }
  });

  test("after a reconnect it asks the engine for the password again, then the user", async () => {
    const { enginePage, consolePage } = await engineWithConsole();
    const ticket = proxy.ticket("127.0.0.1", vnc.port);
    await postToConsole(enginePage, { connectionTicket: ticket, password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");

    // The password was dropped on connect. An engine that answers ready messages re-sends it.
    await enginePage.evaluate(
      ({ msg, origin }) => {
        window.addEventListener("message", (e) => {
          if (e.origin === origin && (e.data as { type?: string })?.type === "novnc-proxy-ready") {
            (window as unknown as { consoleWin: Window }).consoleWin.postMessage(msg, origin);
          }
        });
      },
      { msg: { connectionTicket: ticket, password: PASSWORD }, origin: proxy.origin },
    );
    await consolePage.click("#btn-disconnect");
    expect(await waitForState(consolePage, ["disconnected"])).toBe("disconnected");
    await consolePage.click("#btn-reconnect");
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");
    expect(await consolePage.locator("#password-dialog").isVisible()).toBe(false);
    await closeAll(enginePage); // no engine any more: the next reconnect must ask the user

    await consolePage.click("#btn-disconnect");
    expect(await waitForState(consolePage, ["disconnected"])).toBe("disconnected");
    await consolePage.click("#btn-reconnect");
    await consolePage.locator("#password-dialog").waitFor({ state: "visible", timeout: 10_000 });
    await consolePage.fill("#password-input", PASSWORD);
    await consolePage.click("#password-send");
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");
    await closeAll(consolePage);
  });

  test("Ctrl-Alt-Del and the special keys reach the VNC server as key events", async () => {
    const { enginePage, consolePage } = await engineWithConsole();
    await postToConsole(enginePage, { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");

    let from = vnc.events.length;
    await consolePage.click("#btn-cad");
    expect(await keyEventsAfter(from, 6)).toEqual([
      { down: true, keysym: 0xffe3 }, // Control_L
      { down: true, keysym: 0xffe9 }, // Alt_L
      { down: true, keysym: 0xffff }, // Delete
      { down: false, keysym: 0xffff },
      { down: false, keysym: 0xffe9 },
      { down: false, keysym: 0xffe3 },
    ]);

    from = vnc.events.length;
    await consolePage.click("#btn-keys");
    await consolePage.screenshot({ path: join(ARTIFACTS, "console-keys-menu.png") });
    await consolePage.click('#keys-menu [data-key="ctrl-alt-f2"]');
    expect(await keyEventsAfter(from, 6)).toEqual([
      { down: true, keysym: 0xffe3 },
      { down: true, keysym: 0xffe9 },
      { down: true, keysym: 0xffbf }, // F2
      { down: false, keysym: 0xffbf },
      { down: false, keysym: 0xffe9 },
      { down: false, keysym: 0xffe3 },
    ]);
    await closeAll(consolePage, enginePage);
  });

  test("paste as keystrokes types the text key by key, with Shift and Return", async () => {
    const { enginePage, consolePage } = await engineWithConsole();
    await postToConsole(enginePage, { connectionTicket: proxy.ticket("127.0.0.1", vnc.port), password: PASSWORD }, proxy.origin);
    expect(await waitForState(consolePage, ["connected", "failed"])).toBe("connected");

    const from = vnc.events.length;
    await consolePage.click("#btn-type");
    await consolePage.fill("#type-text", "aB!\n");
    await consolePage.click("#type-send");
    expect(await keyEventsAfter(from, 12)).toEqual([
      { down: true, keysym: 0x61 }, // a
      { down: false, keysym: 0x61 },
      { down: true, keysym: 0xffe1 }, // Shift_L
      { down: true, keysym: 0x42 }, // B
      { down: false, keysym: 0x42 },
      { down: false, keysym: 0xffe1 },
      { down: true, keysym: 0xffe1 },
      { down: true, keysym: 0x21 }, // !
      { down: false, keysym: 0x21 },
      { down: false, keysym: 0xffe1 },
      { down: true, keysym: 0xff0d }, // Return
      { down: false, keysym: 0xff0d },
    ]);
    await closeAll(consolePage, enginePage);
  });
});
