/**
 * The oVirt layout on a temp tree: etc/ovirt-engine/ovirt-websocket-proxy.conf plus the
 * conf.d/10-setup.conf engine-setup writes, pointing at PEM files exported from a PKCS#12 the way
 * engine-setup does. Runs the real CLI's `check-config` and checks output and exit code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig } from "../../src/commands/check-config.ts";
import { ConfigError } from "../../src/errors.ts";

const SRC = join(import.meta.dir, "../../src");
const running = new Set<number>();
let root: string;
let etc: string;
let conf: string;
let pki: { proxyCer: string; proxyKey: string; proxyP12: string; engineCer: string; engineKey: string };
let entry: string;

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "novnc-ovirt-layout-"));
  etc = join(root, "etc/ovirt-engine");
  const certs = join(root, "etc/pki/ovirt-engine/certs");
  const keys = join(root, "etc/pki/ovirt-engine/keys");
  for (const d of [etc, `${etc}/ovirt-websocket-proxy.conf.d`, certs, keys]) mkdirSync(d, { recursive: true });
  pki = {
    proxyCer: join(certs, "websocket-proxy.cer"),
    proxyKey: join(keys, "websocket-proxy.key.nopass"),
    proxyP12: join(keys, "websocket-proxy.p12"),
    engineCer: join(certs, "engine.cer"),
    engineKey: join(keys, "engine.key.nopass"),
  };
  const tmpKey = join(root, "proxy.key");
  const tmpCer = join(root, "proxy.crt");
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tmpKey, "-out", tmpCer, "-days", "2", "-subj", "/CN=proxy.engine.test"]);
  openssl(["pkcs12", "-export", "-in", tmpCer, "-inkey", tmpKey, "-name", "1", "-passout", "pass:mypass", "-out", pki.proxyP12]);
  // What engine-setup does to the keystore (spec section 7): cert and unencrypted key, with bag attributes.
  openssl(["pkcs12", "-in", pki.proxyP12, "-passin", "pass:mypass", "-nokeys", "-out", pki.proxyCer]);
  openssl(["pkcs12", "-in", pki.proxyP12, "-passin", "pass:mypass", "-nodes", "-nocerts", "-out", pki.proxyKey]);
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki.engineKey, "-out", pki.engineCer, "-days", "2", "-subj", "/CN=engine.test"]);
  for (const f of [pki.proxyKey, pki.proxyP12, pki.engineKey]) chmodSync(f, 0o600);
  rmSync(tmpKey);

  conf = join(etc, "ovirt-websocket-proxy.conf");
  writeFileSync(conf, "# local settings for the websocket proxy\n");
  writeFileSync(
    join(etc, "ovirt-websocket-proxy.conf.d/10-setup.conf"),
    `PROXY_PORT=6100\nSSL_CERTIFICATE=${pki.proxyCer}\nSSL_KEY=${pki.proxyKey}\nCERT_FOR_DATA_VERIFICATION=${pki.engineCer}\nSSL_ONLY=True\n`,
  );
  // The real CLI, with check-config registered if cli.ts does not list it yet.
  entry = join(root, "entry.ts");
  writeFileSync(
    entry,
    [
      `import { main, run } from ${JSON.stringify(join(SRC, "cli.ts"))};`,
      `const subs = main.subCommands as Record<string, unknown>;`,
      `subs["check-config"] ??= () => import(${JSON.stringify(join(SRC, "commands/check-config.ts"))}).then((m) => m.default);`,
      `process.exit(await run(process.argv.slice(2)));`,
    ].join("\n"),
  );
});

afterAll(() => {
  for (const pid of running) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** Runs `check-config ARGS` in a child (killed after 20 s); env has no NOVNC_* variables unless given. */
async function checkConfigCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NOVNC_")));
  const child = Bun.spawn([process.execPath, entry, "check-config", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...clean, NO_COLOR: "1", ...env },
  });
  running.add(child.pid);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  running.delete(child.pid);
  return { code, stdout, stderr };
}

/** The settings table row for a flag: [value, source]. */
function row(stdout: string, flag: string): [string, string] | undefined {
  const m = new RegExp(`^  ${flag.replace(/-/g, "\\-")}\\s+(.*?)  \\((.*)\\)$`, "m").exec(stdout);
  return m ? [m[1]!, m[2]!] : undefined;
}

/** Writes a drop-in next to 10-setup.conf for one test, removing it afterwards. */
async function withDropIn<T>(name: string, text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const path = join(etc, "ovirt-websocket-proxy.conf.d", name);
  writeFileSync(path, text);
  try {
    return await fn(path);
  } finally {
    rmSync(path, { force: true });
  }
}

describe("check-config on the oVirt layout", () => {
  test("engine-setup's files check out: exit 0, every value with its file and line", async () => {
    const setup = join(etc, "ovirt-websocket-proxy.conf.d/10-setup.conf");
    const r = await checkConfigCli(["--config", conf]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config files: ${conf}, ${setup}\n`);
    expect(row(r.stdout, "listen")).toEqual(["0.0.0.0:6100", `${setup}:1`]);
    expect(row(r.stdout, "cert")).toEqual([pki.proxyCer, `${setup}:2`]);
    expect(row(r.stdout, "key")).toEqual([pki.proxyKey, `${setup}:3`]);
    expect(row(r.stdout, "engine-cert")).toEqual([pki.engineCer, `${setup}:4`]);
    expect(row(r.stdout, "tls-min")).toEqual(["-", "default"]);
    expect(row(r.stdout, "config")).toEqual([conf, "flag"]);
    expect(r.stdout).not.toContain("warning:");
    expect(r.stdout).toContain("listen: https://0.0.0.0:6100 tls>=1.2\n");
    expect(r.stdout).toContain('certificate: "CN=proxy.engine.test"');
    expect(r.stdout).toContain('engine certificate: "CN=engine.test"');
    expect(r.stdout.trimEnd().endsWith("config OK")).toBe(true);
    expect(r.stdout).not.toContain("PRIVATE KEY");
  });

  test("env beats the files and a flag beats env, and each says so", async () => {
    const r = await checkConfigCli(["--config", conf, "--listen", "127.0.0.1:7000"], { NOVNC_PROXY_LISTEN: "127.0.0.1:6999", NOVNC_PROXY_TLS_MIN: "1.3" });
    expect(r.code).toBe(0);
    expect(row(r.stdout, "listen")).toEqual(["127.0.0.1:7000", "flag"]);
    expect(row(r.stdout, "tls-min")).toEqual(["1.3", "env NOVNC_PROXY_TLS_MIN"]);
    expect(r.stdout).toContain("listen: https://127.0.0.1:7000 tls>=1.3\n");
  });

  test("NOVNC_PROXY_CONFIG names the file when no --config is given", async () => {
    const r = await checkConfigCli([], { NOVNC_PROXY_CONFIG: conf });
    expect(r.code).toBe(0);
    expect(row(r.stdout, "config")).toEqual([conf, "env NOVNC_PROXY_CONFIG"]);
  });

  test("a keystore password is shown as *** and never printed", async () => {
    const r = await checkConfigCli(["--config", conf, "--keystore", pki.proxyP12], { NOVNC_PROXY_PASSWORD: "mypass" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(row(r.stdout, "password")).toEqual(["***", "env NOVNC_PROXY_PASSWORD"]);
    expect(row(r.stdout, "cert")).toEqual(["-", "default"]);
    expect(r.stdout).not.toContain("mypass");
  });

  test("a later drop-in overrides 10-setup.conf and its warnings name file and line", async () => {
    await withDropIn("50-local.conf", "# ours\nPROXY_HOST=127.0.0.1\nSSL_ONLY=False\nSSL_MIN_VERSION=TLSv1.3\nNOT_A_KEY=1\n", async (path) => {
      const r = await checkConfigCli(["--config", conf]);
      expect(r.code).toBe(0);
      expect(row(r.stdout, "listen")).toEqual(["127.0.0.1:6100", `${path}:2, ${join(etc, "ovirt-websocket-proxy.conf.d/10-setup.conf")}:1`]);
      expect(row(r.stdout, "tls-min")).toEqual(["1.3", `${path}:4`]);
      expect(r.stdout).toContain(`warning: ${path}:3: SSL_ONLY=False: plaintext is not supported; serving TLS only\n`);
      expect(r.stdout).toContain(`warning: ${path}:5: unknown key NOT_A_KEY, ignored\n`);
    });
  });

  test("a syntax error exits 2 with one line naming the file and line", async () => {
    await withDropIn("20-broken.conf", 'PROXY_PORT=6100\n\nSSL_CIPHERS="HIGH:!aNULL\n', async (path) => {
      const r = await checkConfigCli(["--config", conf]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`novnc-proxy: ${path}:3: SSL_CIPHERS: unterminated double quote\n`);
      expect(r.stdout).not.toContain("config OK");
    });
  });

  test("a key that does not match the certificate exits 2 after showing where both came from", async () => {
    await withDropIn("90-wrong-key.conf", `SSL_KEY=${pki.engineKey}\n`, async (path) => {
      const r = await checkConfigCli(["--config", conf]);
      expect(r.code).toBe(2);
      expect(row(r.stdout, "key")).toEqual([pki.engineKey, `${path}:1`]);
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toStartWith("novnc-proxy: ");
      expect(r.stderr).not.toContain("PRIVATE KEY");
      expect(r.stdout).not.toContain("config OK");
    });
  });

  test("a missing certificate file exits 2 naming it", async () => {
    await withDropIn("90-missing.conf", `SSL_CERTIFICATE=${root}/nope.cer\n`, async () => {
      const r = await checkConfigCli(["--config", conf]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${root}/nope.cer`);
    });
  });

  test("a --config file that does not exist exits 2", async () => {
    const r = await checkConfigCli(["--config", join(root, "absent.conf")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`novnc-proxy: config ${join(root, "absent.conf")}: no such file\n`);
  });
});

describe("checkConfig in process", () => {
  test("with no --config the default file is used when it exists", () => {
    const lines: string[] = [];
    checkConfig([], {}, (l) => lines.push(l), conf);
    expect(lines[0]).toBe(`config files: ${conf}, ${join(etc, "ovirt-websocket-proxy.conf.d/10-setup.conf")}`);
    expect(lines.at(-1)).toBe("config OK");
  });

  test("with no config file at all, flags alone are checked", () => {
    const lines: string[] = [];
    checkConfig(["--cert", pki.proxyCer, "--key", pki.proxyKey, "--allow-unsigned"], {}, (l) => lines.push(l), join(root, "absent.conf"));
    expect(lines[0]).toBe("config files: none");
    expect(lines).toContain("warning: --allow-unsigned: plain novnc-target cookies are accepted; only the allowlist guards targets");
    expect(lines.at(-1)).toBe("config OK");
  });

  test("no TLS source at all is a ConfigError", () => {
    expect(() => checkConfig([], {}, () => {}, join(root, "absent.conf"))).toThrow(ConfigError);
  });

  test("the key file's contents never reach the output", () => {
    const lines: string[] = [];
    checkConfig(["--config", conf], {}, (l) => lines.push(l), conf);
    const keyBody = readFileSync(pki.proxyKey, "utf8").split("\n").find((l) => l.length > 40)!;
    expect(lines.join("\n")).not.toContain(keyBody);
  });
});
