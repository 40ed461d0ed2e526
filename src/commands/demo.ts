/**
 * `novnc-proxy demo`: the whole product on one machine with nothing installed and no files.
 * It starts the built-in demo VNC server (random password), then `serve` with an in-memory
 * self-signed certificate and an in-memory engine key, plus a launcher page at `/demo` that
 * plays the oVirt engine: it fetches a freshly minted ticket and the VNC password from
 * `/demo/session`, frames the console page and hands both over by postMessage, exactly the way
 * an engine does. The demo is for trying out: it hands a ticket to anyone who can reach it, so
 * it listens on 127.0.0.1 unless told otherwise.
 */
import { defineCommand } from "citty";
import { randomBytes, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { compileSettings } from "../config/compile.ts";
import { readSettings } from "../config/load-conf.ts";
import { mergeSettings } from "../config/merge.ts";
import { cittyArgs, SETTINGS, toggle } from "../config/schema.ts";
import { listenText } from "../config/values.ts";
import { logger, setLogLevel, type LogLevelName } from "../log.ts";
import type { ServerConfig } from "../server/config.ts";
import { securityHeaders } from "../server/headers.ts";
import type { RunningServer } from "../server/https.ts";
import { signTicket } from "../ticket/sign.ts";
import { makeSelfSigned, type TlsIdentity } from "../tls/identity.ts";
import { startDemoVncServer, type DemoVncServer } from "../demo/vnc-server.ts";
import { commonSettings } from "./_args.ts";
import { runServer } from "../server/lifecycle.ts";

/** The port the demo tries first: oVirt's proxy port. */
export const DEMO_DEFAULT_LISTEN = "127.0.0.1:6100";
/** Tickets from /demo/session live this long (the console reconnects with them while valid). */
const DEMO_TICKET_SECONDS = 300;

/** The demo's own settings: the serve table's listen (another default) and log level, plus --open. */
export const DEMO_SETTINGS = {
  listen: { ...SETTINGS.listen, description: "Address and port of the demo proxy, [HOST:]PORT (a free port when 6100 is taken)", default: DEMO_DEFAULT_LISTEN },
  open: toggle({ description: "Open the demo in a browser when a display is available (--no-open to skip)", default: "true" }),
  ...commonSettings,
};

export interface DemoOptions {
  hostname: string;
  /** 0 = any free port. */
  port: number;
  /** The default was used: fall back to a free port when it is taken. */
  portIsDefault: boolean;
  open: boolean;
}

/** The command line and env -> options (the demo reads no config files). Pure. */
export function parseDemoArgs(rawArgs: readonly string[], env: Record<string, string | undefined> = {}): DemoOptions & { logLevel: LogLevelName; warnings: string[] } {
  const m = readSettings(DEMO_SETTINGS, rawArgs, env);
  const { hostname, port } = m.values.listen;
  return { hostname, port, portIsDefault: m.sources.listen === "default", open: m.values.open, logLevel: m.values["log-level"], warnings: m.warnings };
}

/** Host part of an https origin / URL for a listen address. */
function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::") return "127.0.0.1";
  return isIP(hostname) === 6 ? `[${hostname}]` : hostname;
}

function portIsFree(hostname: string, port: number): boolean {
  try {
    Bun.listen({ hostname, port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** The port to listen on, decided before start-up because the engine origin must name it. */
export function choosePort(o: DemoOptions): number {
  if (o.port !== 0 && (!o.portIsDefault || portIsFree(o.hostname, o.port))) return o.port;
  const probe = Bun.listen({ hostname: o.hostname, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

const LAUNCHER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>novnc-proxy demo</title>
<link rel="stylesheet" href="/demo.css">
<link rel="icon" href="/favicon.svg">
</head>
<body>
<header>
  <strong>novnc-proxy demo</strong>
  <span id="demo-status">Minting a ticket…</span>
  <button id="demo-again" type="button">New ticket</button>
</header>
<p class="note">This page plays the oVirt engine: it fetches a signed ticket and the VNC password,
opens the console below and hands both over with <code>postMessage</code>. Type and move the
mouse in the console: the demo VNC server draws what it receives.</p>
<iframe id="demo-console" title="VM console" allow="fullscreen; keyboard-lock; clipboard-write"></iframe>
<script src="/demo.js"></script>
</body>
</html>
`;

const LAUNCHER_CSS = `html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 14px system-ui, sans-serif; background: #111827; color: #e5e7eb; }
header { display: flex; gap: 1em; align-items: center; padding: 0.5em 1em; background: #1d2b53; }
header strong { color: #ffec27; }
#demo-status { flex: 1; }
button { font: inherit; padding: 0.25em 0.75em; }
.note { margin: 0.5em 1em; color: #9ca3af; }
code { color: #e5e7eb; }
iframe { flex: 1; border: 0; width: 100%; background: #000; }
`;

/** The engine's part, run in the browser; a separate file because the CSP forbids inline script. */
const LAUNCHER_JS = `"use strict";
(function () {
  var frame = document.getElementById("demo-console");
  var status = document.getElementById("demo-status");
  var listener = null;
  function start() {
    status.textContent = "Minting a ticket…";
    fetch("/demo/session", { cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (s) {
        if (listener) window.removeEventListener("message", listener);
        listener = function (e) {
          if (e.source !== frame.contentWindow || e.origin !== location.origin) return;
          if (!e.data || e.data.type !== "novnc-proxy-ready") return;
          frame.contentWindow.postMessage({ connectionTicket: s.ticket, password: s.password }, location.origin);
          status.textContent = "Ticket handed to the console (valid " + s.validSeconds + " s).";
        };
        window.addEventListener("message", listener);
        frame.src = "/?host=" + encodeURIComponent(s.host) + "&port=" + encodeURIComponent(String(s.port)) + "&title=Demo";
      })
      .catch(function (err) {
        status.textContent = "Could not get a ticket: " + err.message;
      });
  }
  document.getElementById("demo-again").addEventListener("click", start);
  start();
})();
`;

export interface DemoSession {
  ticket: string;
  password: string;
  /** The proxy the console connects to (this server, as the browser reached it). */
  host: string;
  port: number;
  validSeconds: number;
}

/** The launcher routes: page, script, style and the ticket endpoint. */
export function demoRoutes(opts: {
  engine: TlsIdentity;
  vnc: { port: number; password: string };
  proxyPort: number;
  engineOrigins: string[];
}): NonNullable<ServerConfig["extraRoutes"]> {
  const headers = (type: string) => ({ "Content-Type": type, ...securityHeaders(opts.engineOrigins) });
  const text = (body: string, type: string) => () => new Response(body, { headers: headers(type) });
  return {
    "/demo": text(LAUNCHER_HTML, "text/html; charset=utf-8"),
    "/demo.js": text(LAUNCHER_JS, "text/javascript; charset=utf-8"),
    "/demo.css": text(LAUNCHER_CSS, "text/css; charset=utf-8"),
    "/demo/session": (req) => {
      const session: DemoSession = {
        ticket: signTicket({
          keyPem: opts.engine.keyPem,
          certPem: opts.engine.certPem,
          host: "127.0.0.1",
          port: opts.vnc.port,
          lifetimeSeconds: DEMO_TICKET_SECONDS,
        }),
        password: opts.vnc.password,
        host: new URL(req.url).hostname.replace(/^\[|\]$/g, ""),
        port: opts.proxyPort,
        validSeconds: DEMO_TICKET_SECONDS,
      };
      return new Response(JSON.stringify(session), {
        headers: { ...headers("application/json"), "Cache-Control": "no-store" },
      });
    },
  };
}

export interface RunningDemo {
  /** https://HOST:PORT/demo */
  url: string;
  fingerprint256: string;
  vnc: DemoVncServer;
  server: RunningServer;
  stop(): Promise<void>;
}

/** Starts the demo VNC server and the proxy in front of it. */
export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  const port = choosePort(o);
  const host = urlHost(o.hostname);
  const origin = `https://${host}:${port}`;
  const engineOrigins = [...new Set([origin, `https://127.0.0.1:${port}`, `https://localhost:${port}`])];
  const password = randomBytes(6).toString("base64"); // 8 characters, like vdsm's
  const vnc = await startDemoVncServer({ password, hostname: "127.0.0.1", port: 0 });
  try {
    const names = [...new Set([o.hostname, "localhost", "127.0.0.1", "::1"])].filter((n) => n !== "0.0.0.0" && n !== "::");
    const identity = makeSelfSigned(names);
    const engine = makeSelfSigned(["novnc-proxy demo engine"]);
    // The same merge and compile as serve, with the demo's in-memory certificates handed in.
    const merged = mergeSettings({
      table: SETTINGS,
      flags: new Map([
        ["listen", [listenText({ hostname: o.hostname, port })]],
        ["allow", [`127.0.0.1:${vnc.port}`]],
        ["engine-origin", engineOrigins],
      ]),
      env: {},
    });
    const compiled = compileSettings(merged, {}, {
      identity,
      engine: { key: new X509Certificate(engine.certPem).publicKey, subject: engine.subject },
      extraRoutes: demoRoutes({ engine, vnc: { port: vnc.port, password }, proxyPort: port, engineOrigins }),
    });
    const server = await runServer(compiled);
    return {
      url: `${origin}/demo`,
      fingerprint256: identity.fingerprint256,
      vnc,
      server,
      async stop() {
        await server.stop();
        vnc.stop();
      },
    };
  } catch (err) {
    vnc.stop();
    throw err;
  }
}

/** Opens a URL with xdg-open / open when a display is likely; failures are only logged. */
function openBrowser(url: string): void {
  const opener = process.platform === "darwin" ? "open" : "xdg-open";
  const hasDisplay = process.platform === "darwin" || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  const bin = Bun.which(opener);
  if (!hasDisplay || !bin) {
    logger.info("no display found: open the URL above in a browser");
    return;
  }
  try {
    Bun.spawn([bin, url], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }).unref();
  } catch {
    logger.info(`could not run ${opener}: open the URL above in a browser`);
  }
}

export default defineCommand({
  meta: {
    name: "demo",
    description: "Try it out: a built-in demo VNC server behind the proxy, with a page that plays the engine",
  },
  args: cittyArgs(DEMO_SETTINGS),
  async run({ rawArgs }) {
    const options = parseDemoArgs(rawArgs, process.env);
    setLogLevel(options.logLevel);
    for (const w of options.warnings) logger.warn(w);
    const demo = await startDemo(options);
    if (!["127.0.0.1", "::1", "localhost"].includes(options.hostname)) {
      logger.warn(`the demo hands out tickets to anyone who can reach ${options.hostname}; use it on trusted networks only`);
    }
    logger.info(`demo VNC server on 127.0.0.1:${demo.vnc.port} (${demo.vnc.width}x${demo.vnc.height})`);
    logger.info(`self-signed certificate, SHA-256 ${demo.fingerprint256}; your browser will warn about it`);
    logger.info(`open ${demo.url}`);
    if (options.open) openBrowser(demo.url);
    const stop = async (signal: string) => {
      logger.info(`${signal}: stopping`);
      await demo.stop();
      process.exit(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  },
});

