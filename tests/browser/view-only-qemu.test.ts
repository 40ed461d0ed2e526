/**
 * View-only in a real Chromium against a real QEMU whose screen reacts to a key (SeaBIOS's boot
 * menu prompt: Esc opens the menu). A view_only ticket shows the badge and hides the input
 * controls; with the proxy enforcing view-only for a page that does not know it, typing Esc into
 * the canvas leaves QEMU's screen as it was (QMP screendumps), while the same typing through a
 * normal session opens the menu, so the check can fail.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import { launchBrowser, openConsole, postToConsole, startEnginePage, startTestProxy, waitForState, type EnginePage, type TestBrowser, type TestProxy } from "../helpers/browser.ts";

const PASSWORD = "Vo5-pw_2";
// SeaBIOS keeps its "Press ESC for boot menu" prompt up to 65 s (its maximum): the three tests fit.
let browser: TestBrowser;
let engine: EnginePage;
let proxy: TestProxy;
let enforcing: TestProxy;
let qemu: Qemu;
let dumps: string;

beforeAll(async () => {
  dumps = mkdtempSync(join(tmpdir(), "novnc-view-only-"));
  qemu = await startQemu({ password: PASSWORD, extraArgs: ["-boot", "menu=on,splash-time=65000"] });
  engine = startEnginePage();
  [proxy, enforcing] = await Promise.all([startTestProxy([engine.origin]), startTestProxy([engine.origin], undefined, { viewOnly: true })]);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([proxy?.stop(), enforcing?.stop()]);
  engine?.stop();
  await qemu?.stop();
  rmSync(dumps, { recursive: true, force: true });
});

let dumpCount = 0;
/** Hashes of QEMU's screen sampled over ~2.5 s (the text cursor blinks, so a screen is a set). */
async function screens(): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const file = join(dumps, `${dumpCount++}.ppm`);
    await qemu.qmp("screendump", { filename: file });
    seen.add(createHash("sha256").update(readFileSync(file)).digest("hex"));
    await Bun.sleep(400);
  }
  return seen;
}

async function openWith(p: TestProxy, ticket: string): Promise<{ page: Page; close: () => Promise<void> }> {
  const enginePage = await browser.context.newPage();
  await enginePage.goto(engine.url);
  const page = await openConsole(enginePage, `${p.origin}/?host=127.0.0.1&port=${p.server.port}&title=vm`, p.origin);
  await postToConsole(enginePage, { connectionTicket: ticket, password: PASSWORD }, p.origin);
  expect(await waitForState(page, ["connected", "failed"], 30_000)).toBe("connected");
  return { page, close: async () => (await page.close(), await enginePage.close()) };
}

async function typeEsc(page: Page): Promise<void> {
  await page.locator("#screen canvas").click();
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Escape");
    await Bun.sleep(200);
  }
}

const isSubset = (a: Set<string>, b: Set<string>) => [...a].every((x) => b.has(x));

describe("view-only in Chromium against QEMU", () => {
  test("a view_only ticket: the page shows the badge and hides the input controls; typing changes nothing", async () => {
    await Bun.sleep(2000); // SeaBIOS reaches its boot-menu prompt
    const { page, close } = await openWith(proxy, proxy.ticket("127.0.0.1", qemu.port, { viewOnly: true }));
    expect(await page.locator("#view-only-badge").isVisible()).toBe(true);
    expect(await page.locator("#btn-cad").isVisible()).toBe(false);
    expect(await page.locator("#btn-type").isVisible()).toBe(false);
    const before = await screens();
    await typeEsc(page);
    expect(isSubset(await screens(), before)).toBe(true);
    await close();
  }, 60_000);

  test("serve --view-only: a page that does not know sends the keys, the proxy drops them, QEMU's screen stays", async () => {
    const { page, close } = await openWith(enforcing, enforcing.ticket("127.0.0.1", qemu.port));
    expect(await page.locator("#view-only-badge").isVisible()).toBe(false);
    const before = await screens();
    await typeEsc(page);
    expect(isSubset(await screens(), before)).toBe(true);
    await close();
  }, 60_000);

  test("control: the same typing through a normal session changes QEMU's screen", async () => {
    const { page, close } = await openWith(proxy, proxy.ticket("127.0.0.1", qemu.port));
    const before = await screens();
    await typeEsc(page);
    expect(isSubset(await screens(), before)).toBe(false);
    await close();
  }, 60_000);
});
