/**
 * The console page in a real Chromium against a real QEMU: the engine page hands over a ticket
 * and the VNC password set over QMP (as vdsm does), noVNC connects through the proxy, and the
 * canvas shows SeaBIOS's screen. Plain VNC and VeNCrypt x509 (ssl_target: true, terminated by
 * the proxy). With UPDATE_SCREENSHOT=1 the plain run's screenshot becomes the README's
 * (assets/screenshot.png).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import { makeVncPki, type VncPki } from "../helpers/vnc-pki.ts";
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

const ROOT = join(import.meta.dir, "..", "..");
const ARTIFACTS = join(ROOT, "tests", "artifacts");
const PASSWORD = "Qx7-pw_9"; // 8 characters, like vdsm's

let browser: TestBrowser;
let engine: EnginePage;
let proxy: TestProxy;
let qemu: Qemu;
let qemuTls: Qemu;
let pki: VncPki;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  pki = makeVncPki();
  [qemu, qemuTls] = await Promise.all([startQemu({ password: PASSWORD }), startQemu({ password: PASSWORD, tlsDir: pki.dir })]);
  engine = startEnginePage();
  proxy = await startTestProxy([engine.origin]);
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  engine?.stop();
  await qemu?.stop();
  await qemuTls?.stop();
  pki?.cleanup();
});

/** Opens the console from the engine page, hands over the ticket, waits for a picture. */
async function connectAndShoot(ticket: string, title: string, shot: string, settleMs = 500): Promise<void> {
  const enginePage = await browser.context.newPage();
  await enginePage.goto(engine.url);
  const url = `${proxy.origin}/?host=127.0.0.1&port=${proxy.server.port}&title=${encodeURIComponent(title)}`;
  const consolePage = await openConsole(enginePage, url, proxy.origin);
  const cspErrors: string[] = [];
  consolePage.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  await postToConsole(enginePage, { connectionTicket: ticket, password: PASSWORD }, proxy.origin);
  expect(await waitForState(consolePage, ["connected", "failed"], 30_000)).toBe("connected");
  expect(await consolePage.title()).toBe(`${title} - Console`);
  // SeaBIOS needs a moment to draw its text; wait until the canvas is not one flat colour.
  let colours = 0;
  for (let i = 0; i < 100 && colours < 2; i++) {
    colours = await canvasColourCount(consolePage);
    if (colours < 2) await Bun.sleep(150);
  }
  expect(colours).toBeGreaterThanOrEqual(2);
  // Best effort for a telling screenshot: QEMU first shows a 640x480 "display not initialized"
  // notice, then SeaBIOS switches to 720x400 text mode.
  await consolePage
    .waitForFunction(
      () => {
        const c = document.querySelector<HTMLCanvasElement>("#screen canvas");
        return c !== null && !(c.width === 640 && c.height === 480);
      },
      undefined,
      { timeout: 20_000, polling: 200 },
    )
    .catch(() => {});
  await Bun.sleep(settleMs);
  await consolePage.screenshot({ path: join(ARTIFACTS, shot) });
  expect(cspErrors).toEqual([]);
  await consolePage.close();
  await enginePage.close();
}

describe("the console page against QEMU", () => {
  test("shows the VM's screen through a path ticket and the password set over QMP", async () => {
    await connectAndShoot(proxy.ticket("127.0.0.1", qemu.port), "rhel9-web01", "console-qemu.png", 6000);
    // The README's screenshot is refreshed on request only, so test runs leave the tree clean.
    if (process.env.UPDATE_SCREENSHOT === "1") copyFileSync(join(ARTIFACTS, "console-qemu.png"), join(ROOT, "assets", "screenshot.png"));
  }, 60_000);

  test("shows the VM's screen when the VNC link is VeNCrypt x509 (ssl_target)", async () => {
    await connectAndShoot(proxy.ticket("127.0.0.1", qemuTls.port, { sslTarget: true }), "rhel9-tls", "console-qemu-tls.png");
  }, 60_000);
});
