/**
 * The settings pipeline through the compiled binary: mistakes exit 2 before anything listens,
 * check-config and serve agree on bad input, every spelling of a flag counts, and the engine's
 * origins are derived from its certificate and engine.conf.d unless --engine-origin is given.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TCPSocketListener } from "bun";
import { run, tempDir } from "../helpers/keystores.ts";
import { runCli, startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { upgradeStatus } from "../helpers/raw-ws.ts";
import { signTicket } from "../../src/ticket/sign.ts";
import { canConnect as bound, freePort } from "../helpers/net.ts";

let tmp: { dir: string; cleanup: () => void };
let echo: TCPSocketListener<undefined>;
const started: ProxyProcess[] = [];
let engine: { keyPem: string; certPem: string; certFile: string };
/** An oVirt-style layout: etc/ovirt-websocket-proxy.conf.d/10-setup.conf and etc/engine.conf.d/. */
let conf: string;

beforeAll(() => {
  tmp = tempDir("novnc-settings-");
  echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(d) } });
  const keyFile = join(tmp.dir, "engine.key");
  const certFile = join(tmp.dir, "engine.cer");
  run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=engine.test", "-addext", "subjectAltName=DNS:engine-san.test,IP:127.0.0.2"]);
  engine = { keyPem: readFileSync(keyFile, "utf8"), certPem: readFileSync(certFile, "utf8"), certFile };
  const etc = join(tmp.dir, "etc");
  mkdirSync(join(etc, "ovirt-websocket-proxy.conf.d"), { recursive: true });
  mkdirSync(join(etc, "engine.conf.d"), { recursive: true });
  conf = join(etc, "ovirt-websocket-proxy.conf");
  writeFileSync(join(etc, "ovirt-websocket-proxy.conf.d/10-setup.conf"), `PROXY_PORT=6100\nCERT_FOR_DATA_VERIFICATION=${certFile}\nSSL_ONLY=True\n`);
  // What engine-setup writes into engine.conf.d: the FQDN, and alternates (space separated).
  writeFileSync(join(etc, "engine.conf.d/10-setup-protocols.conf"), 'ENGINE_FQDN=engine.test\nENGINE_PROPERTIES="${ENGINE_PROPERTIES} x"\n');
  writeFileSync(join(etc, "engine.conf.d/11-setup-sso.conf"), 'SSO_ALTERNATE_ENGINE_FQDNS="alt.engine.test alt2.engine.test"\n');
}, 60_000);

afterAll(async () => {
  for (const p of started) await p.stop();
  echo?.stop(true);
  tmp?.cleanup();
});

const BASE = ["--self-signed", "--allow-unsigned"];

describe("mistakes exit 2 before anything listens", () => {
  test.each([
    [["--alow", "10.0.0.0/8"], {}, "unknown flag --alow (did you mean --allow?)"],
    [["--trustedProxi", "10.0.0.1"], {}, "unknown flag --trustedProxi (did you mean --trusted-proxy?)"],
    [["--engine-origin", "https://e.example/path"], {}, '--engine-origin "https://e.example/path": expected scheme://host[:port]'],
    [["--metrics-allow", "10.0.0.1/8"], {}, '--metrics-allow "10.0.0.1/8": host bits set'],
    [[], { NOVNC_PROXY_CLOCK_SKEW: "soon" }, 'env NOVNC_PROXY_CLOCK_SKEW "soon": expected a whole number'],
  ] as const)("serve %j (env %j): %p", async (args, env, message) => {
    const port = freePort();
    const r = await runCli(["serve", ...BASE, "--listen", `127.0.0.1:${port}`, ...args], { NOVNC_PROXY_LOG_LEVEL: "info", ...env });
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`novnc-proxy: ${message}`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain("listening on");
    expect(await bound(port)).toBe(false);
  });

  test("an unknown command: the error line carries no colour escapes into a pipe", async () => {
    // citty colours unless TEST or CI is set; clear them so it would.
    const r = await runCli(["bogus"], { TEST: "", CI: "", NO_COLOR: "" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(["novnc-proxy: Unknown command bogus (see novnc-proxy --help)"]);
  });

  test("a missing argument is one line that points at the command's help, not the whole usage", async () => {
    const r = await runCli(["ticket", "inspect"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(["novnc-proxy: Missing required positional argument: TICKET (see novnc-proxy ticket inspect --help)"]);
  });

  test("NOVNC_PROXY_DEBUG, which check-config lists, adds the stack trace as --debug does", async () => {
    const args = ["check-config", "--self-signed", "--cert", join(tmp.dir, "nope.cer"), "--allow-unsigned"];
    const plain = await runCli(args);
    expect(plain.stderr.trim().split("\n")).toHaveLength(1);
    for (const r of [await runCli([...args, "--debug"]), await runCli(args, { NOVNC_PROXY_DEBUG: "true" })]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toStartWith(plain.stderr);
      expect(r.stderr).toMatch(/\n +at /);
    }
  });

  test("install-service: a bad --log-level (flag or env) is an error, not an ignored flag", async () => {
    const args = ["install-service", "--dry-run", "--user", "novnc-proxy", "--unit-dir", tmp.dir, "--bin", join(tmp.dir, "bin")];
    const flag = await runCli([...args, "--log-level", "loud"]);
    expect([flag.code, flag.stderr, flag.stdout]).toEqual([2, 'novnc-proxy: --log-level "loud": expected silent, error, warn, info or debug\n', ""]);
    const env = await runCli(args, { NOVNC_PROXY_LOG_LEVEL: "loud" });
    expect([env.code, env.stderr]).toEqual([2, 'novnc-proxy: env NOVNC_PROXY_LOG_LEVEL "loud": expected silent, error, warn, info or debug\n']);
  });

  test("an unknown NOVNC_PROXY_* key in a config file names FILE:LINE", async () => {
    const file = join(tmp.dir, "typo.conf");
    writeFileSync(file, "# ours\nNOVNC_PROXY_ALOW=10.0.0.0/8\n");
    const r = await runCli(["serve", ...BASE, "--listen", "127.0.0.1:0", "--config", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`novnc-proxy: ${file}:2: unknown key NOVNC_PROXY_ALOW (did you mean NOVNC_PROXY_ALLOW?)\n`);
  });
});

describe("check-config judges exactly what serve runs", () => {
  const cert = () => join(tmp.dir, "nope.cer");
  const BAD: [string[], Record<string, string>][] = [
    [["--alow", "x"], {}],
    [["--listen", "127.0.0.1:99999"], {}],
    [["--origin", "https://a.example/x"], {}],
    [["--engine-origin", "ftp://e.example"], {}],
    [["--allow", "10.0.0.1/8"], {}],
    [["--trusted-proxy", "localhost"], {}],
    [["--max-sessions", "-1"], {}],
    [["--tls-min", "1.1"], {}],
    [["--listen", "1", "--listen", "2"], {}],
    [["--vnc-verify-name"], {}],
    [[], { NOVNC_PROXY_REQUIRE_ORIGIN: "maybe" }],
  ];
  test.each(BAD)("%j (env %j): both exit 2 with the same line", async (args, env) => {
    const both = ["--listen", "127.0.0.1:0", ...BASE];
    const s = await runCli(["serve", ...both, ...args], env);
    const c = await runCli(["check-config", ...both, ...args], env);
    expect(s.code).toBe(2);
    expect(c.code).toBe(2);
    expect(s.stderr).toBe(c.stderr);
    expect(c.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("a missing certificate: both name the file", async () => {
    const args = ["--cert", cert(), "--allow-unsigned"];
    const s = await runCli(["serve", "--listen", "127.0.0.1:0", ...args]);
    const c = await runCli(["check-config", ...args]);
    expect([s.code, c.code]).toEqual([2, 2]);
    expect(s.stderr).toBe(c.stderr);
    expect(c.stderr).toContain(cert());
  });
});

describe("every spelling citty accepts means the documented flag", () => {
  test("--trustedProxy and --metricsAllow are kept, --engineCert beats CERT_FOR_DATA_VERIFICATION", async () => {
    const r = await runCli(["check-config", "--config", conf, "--self-signed", "--trustedProxy", "10.0.0.1", "--metricsAllow", "127.0.0.1", "--engineCert", engine.certFile]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}trusted-proxy +10\.0\.0\.1 +\(flag\)$/m);
    expect(r.stdout).toMatch(/^ {2}metrics-allow +127\.0\.0\.1 +\(flag\)$/m);
    expect(r.stdout).toMatch(/^ {2}engine-cert +\S+engine\.cer +\(flag\)$/m);
  });

  test("citty-parsed commands: --view_only reaches ticket as --view-only, -x is refused", async () => {
    const mint = ["ticket", "--key", join(tmp.dir, "engine.key"), "--cert", engine.certFile, "--host", "127.0.0.1", "--port", "5900"];
    const r = await runCli([...mint, "--view_only"]);
    expect(r.stderr).toBe("");
    const shown = await runCli(["ticket", "inspect", r.stdout.trim()]);
    expect(shown.stdout).toMatch(/^view_only +true$/m);
    const short = await runCli([...mint, "-x"]);
    expect([short.code, short.stderr]).toEqual([2, "novnc-proxy: unknown flag -x\n"]);
    const twice = await runCli([...mint, "--host", "10.0.0.1"]);
    expect([twice.code, twice.stderr, twice.stdout]).toEqual([2, "novnc-proxy: --host given twice; it takes one value\n", ""]);
  });

  test("an unknown NOVNC_PROXY_* variable in the environment is a warning, not silence", async () => {
    const ok = await runCli(["check-config", "--self-signed", "--allow-unsigned"], { NOVNC_PROXY_ALOW: "10.0.0.0/8" });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("warning: env NOVNC_PROXY_ALOW: not a novnc-proxy setting, ignored (did you mean NOVNC_PROXY_ALLOW?)");
  });
});

describe("the engine's origins by default", () => {
  const ticket = () => signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "127.0.0.1", port: echo.port });
  const from = (origin: string) => ({ Origin: origin, "Sec-WebSocket-Protocol": "binary" });

  async function serve(args: string[]): Promise<ProxyProcess> {
    const p = await startProxy(["serve", "--config", conf, "--self-signed", "--allow", `127.0.0.1:${echo.port}`, "--listen", "127.0.0.1:0", ...args]);
    started.push(p);
    return p;
  }

  test("check-config lists them with their sources", async () => {
    const r = await runCli(["check-config", "--config", conf, "--self-signed"]);
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("engine origins: "))!;
    expect(line).toContain(`https://engine.test (CN of ${engine.certFile})`);
    expect(line).toContain(`https://engine-san.test (DNS name in ${engine.certFile})`);
    expect(line).toContain(`https://127.0.0.2 (IP name in ${engine.certFile})`);
    expect(line).toContain(`https://alt.engine.test (SSO_ALTERNATE_ENGINE_FQDNS at ${join(tmp.dir, "etc/engine.conf.d/11-setup-sso.conf")}:1)`);
    expect(line).toContain("https://alt2.engine.test (SSO_ALTERNATE_ENGINE_FQDNS");
    expect(line.match(/https:\/\/engine\.test /g)).toHaveLength(1); // ENGINE_FQDN repeats the CN: listed once
  });

  test("a literal drop-in admits the engine's CN and an alternate FQDN; another origin gets 403", async () => {
    const p = await serve([]);
    expect(p.output()).toContain(`engine-origins=https://engine.test (CN of ${engine.certFile})`);
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://engine.test"))).status).toBe(101);
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://alt.engine.test"))).status).toBe(101);
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://engine-san.test"))).status).toBe(101);
    const other = await upgradeStatus(p.port, `/${ticket()}`, from("https://evil.test"));
    expect(other.status).toBe(403);
    expect(other.body).toMatch(/origin/i);
    await p.stop();
  });

  test("an explicit --engine-origin replaces them", async () => {
    const p = await serve(["--engine-origin", "https://portal.test"]);
    expect(p.output()).toContain("engine-origins=https://portal.test (--engine-origin)");
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://portal.test"))).status).toBe(101);
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://engine.test"))).status).toBe(403);
    expect((await upgradeStatus(p.port, `/${ticket()}`, from("https://alt.engine.test"))).status).toBe(403);
    await p.stop();
  });
});
