/**
 * Test helpers for the browser tests: a headless Debian Chromium driven by playwright-core, the
 * proxy started in-process with a test ServerConfig, and a fake "engine" page on another origin
 * that opens the console with window.open and hands it a ticket, as oVirt's admin portal does.
 */
import { chromium, type Browser, type BrowserContext, type BrowserServer, type Page } from "playwright-core";
import { startServer, type RunningServer } from "../../src/server/https.ts";
import type { ServerConfig } from "../../src/server/config.ts";
import { compileClientPolicy, DEFAULT_SETTINGS, SERVER_DEFAULTS } from "../../src/config/compile.ts";
import { makeSelfSigned } from "../../src/tls/identity.ts";
import { compileAllowlist } from "../../src/policy/allowlist.ts";
import { loadEngineCert } from "../../src/tls/engine-key.ts";
import { signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "./engine-keys.ts";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
  "--ignore-certificate-errors",
];

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Chromium's pid, killed by `close` if it outlives a clean shutdown. */
  pid: number | undefined;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium. Playwright gives it a fresh temporary profile (user-data-dir) of
 * its own and deletes it on close. Started as a BrowserServer so the process id is known and the
 * test can kill exactly that process.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const server: BrowserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint(), { timeout: 30_000 });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
  return {
    browser,
    context,
    pid,
    async close() {
      await context.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.close().catch(() => {});
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    },
  };
}

export interface EnginePage {
  /** http://127.0.0.1:PORT, the engine origin to configure on the proxy. */
  origin: string;
  url: string;
  stop(): void;
}

/**
 * A page on its own origin standing in for the oVirt engine. The test drives it with
 * `openConsole` / `postTicket`; it only needs to exist as a same-origin document.
 */
export function startEnginePage(title = "oVirt engine (test)"): EnginePage {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      if (new URL(req.url).pathname !== "/") return new Response("not found", { status: 404 });
      return new Response(`<!doctype html><title>${title}</title><h1>${title}</h1>`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return { origin, url: `${origin}/`, stop: () => server.stop(true) };
}

/**
 * In the engine page: listen for the console's ready message, then `window.open` the console,
 * resolve once the ready message came from `consoleOrigin`. Returns the console's Page.
 */
export async function openConsole(engine: Page, consoleUrl: string, consoleOrigin: string): Promise<Page> {
  const popup = engine.context().waitForEvent("page", { timeout: 15_000 });
  await engine.evaluate(
    ({ url, origin }) => {
      const w = window as unknown as { consoleWin: Window | null; consoleReady: Promise<boolean> };
      w.consoleReady = new Promise<boolean>((resolve) => {
        window.addEventListener("message", (e) => {
          if (e.origin === origin && (e.data as { type?: string })?.type === "novnc-proxy-ready") resolve(true);
        });
      });
      w.consoleWin = window.open(url, "console");
    },
    { url: consoleUrl, origin: consoleOrigin },
  );
  const page = await popup;
  const ready = await engine.evaluate(
    () =>
      Promise.race([
        (window as unknown as { consoleReady: Promise<boolean> }).consoleReady,
        new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
      ]),
  );
  if (!ready) throw new Error("the console page never sent novnc-proxy-ready");
  return page;
}

/** In the engine page: post a message to the console window opened by `openConsole`. */
export async function postToConsole(engine: Page, message: unknown, consoleOrigin: string): Promise<void> {
  await engine.evaluate(
    ({ msg, origin }) => {
      const w = window as unknown as { consoleWin: Window | null };
      w.consoleWin!.postMessage(msg, origin);
    },
    { msg: message, origin: consoleOrigin },
  );
}

/** Waits until the console page's body has data-state in `states`; returns the state reached. */
export async function waitForState(page: Page, states: string[], timeoutMs = 20_000): Promise<string> {
  const handle = await page.waitForFunction(
    (wanted) => {
      const s = document.body.dataset.state ?? "";
      return wanted.includes(s) ? s : null;
    },
    states,
    { timeout: timeoutMs, polling: 100 },
  );
  return (await handle.jsonValue()) as string;
}

/** Counts distinct colours in the noVNC canvas (sampled), to tell a picture from a blank. */
export async function canvasColourCount(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>("#screen canvas");
    if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
    const ctx = canvas.getContext("2d");
    if (!ctx) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    const step = 4 * 7; // every 7th pixel is plenty
    for (let i = 0; i < data.length && seen.size < 64; i += step) {
      seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    }
    return seen.size;
  });
}

/** A proxy with a fresh engine key, ready to mint tickets, and its teardown. */
export interface TestProxy {
  server: RunningServer;
  /** https://127.0.0.1:PORT */
  origin: string;
  /** What it was started with (a reload takes a variation of it). */
  config: ServerConfig;
  keys: EngineKeys;
  ticket(host: string, port: number, opts?: { lifetimeSeconds?: number; sslTarget?: boolean; viewOnly?: boolean }): string;
  stop(): Promise<void>;
}

/** Starts the proxy in-process on 127.0.0.1 with an engine origin, like `demo` builds it. */
export async function startTestProxy(engineOrigins: string[], allow: string[] = ["127.0.0.1:1-65535"], extra: Partial<ServerConfig> = {}): Promise<TestProxy> {
  const keys = makeEngineKeys();
  const engine = loadEngineCert(keys.certFile);
  const config: ServerConfig = {
    ...SERVER_DEFAULTS,
    hostname: "127.0.0.1",
    port: 0,
    identity: makeSelfSigned(["127.0.0.1", "localhost"]),
    engineKey: engine.key,
    engineSubject: engine.subject,
    allowlist: compileAllowlist(allow),
    engineOrigins,
    client: compileClientPolicy(DEFAULT_SETTINGS, engineOrigins),
    connectTimeoutSeconds: 5,
    ...extra,
  };
  const server = await startServer(config);
  return {
    server,
    origin: `https://127.0.0.1:${server.port}`,
    config,
    keys,
    ticket: (host, port, opts = {}) =>
      signTicket({
        keyPem: keys.keyPem,
        certPem: keys.certPem,
        host,
        port,
        lifetimeSeconds: opts.lifetimeSeconds ?? 120,
        sslTarget: opts.sslTarget ?? false,
        viewOnly: opts.viewOnly ?? false,
      }),
    async stop() {
      await server.stop();
      removeEngineKeys(keys);
    },
  };
}
