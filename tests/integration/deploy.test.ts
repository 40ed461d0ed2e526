/**
 * The three deployment places of the README, end to end with the compiled binary. Each place is a
 * temp tree mirroring the real paths (TMP/engine/etc/pki/ovirt-engine/..., TMP/proxy/...,
 * TMP/host/etc/pki/vdsm/...), with keys and certificates made at test time by openssl the way
 * oVirt makes them: an engine CA, engine.p12 and websocket-proxy.p12 (`openssl pkcs12 -export`,
 * password mypass, no -name, like pki-enroll-pkcs12.sh), PEM files exported like engine-setup,
 * a separate machine's CSR signed by the engine CA, a host's vdsm PEM pair.
 * Only the listen address (127.0.0.1:0) and, on the engine, the allowlist differ from the README,
 * and they are given as NOVNC_PROXY_* environment variables over the README's files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TCPSocketListener } from "bun";
import { run, tempDir } from "../helpers/keystores.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { runCli, startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { listenEcho } from "../helpers/targets.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";
import { signTicket } from "../../src/ticket/sign.ts";

/** The engine's address; engine.cer is issued to it, so it is an allowed origin with no setting. */
const ENGINE_ORIGIN = "https://engine.example";
const started: ProxyProcess[] = [];
let tmp: { dir: string; cleanup: () => void };
let rogue: EngineKeys;
let echo: TCPSocketListener<undefined>;
/** The engine's signing key and certificate as the engine holds them (from engine.p12). */
let engineKeyPem: string;
let engineCertPem: string;
let caPem: string;
/** Engine CA files, as on the engine machine. */
let ca: { cert: string; key: string; serial: string };

const openssl = (...args: string[]) => run(["openssl", ...args]);

function mkdirs(...dirs: string[]): void {
  for (const d of dirs) mkdirSync(d, { recursive: true });
}

/** A key and CSR, then the CSR signed by the engine CA with these SANs (pki-enroll-request.sh's job). */
function enroll(key: string, cert: string, cn: string, san: string): void {
  const csr = `${cert}.req`;
  openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/C=US/O=Example/CN=${cn}`);
  const ext = `${cert}.ext`;
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAserial", ca.serial, "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert);
  rmSync(csr);
  rmSync(ext);
}

/** A TCP echo server on a VNC display port (5900-6923), so a rule without ports allows it. */
function listenOnVncPort(): TCPSocketListener<undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 6400 + Math.floor(Math.random() * 500);
    try {
      return listenEcho(port);
    } catch {
      // taken: try another
    }
  }
  throw new Error("no free port in 6400-6899");
}

beforeAll(() => {
  tmp = tempDir("novnc-deploy-");
  rogue = makeEngineKeys("rogue.example");
  echo = listenOnVncPort();

  // The engine CA, where engine-setup keeps it.
  const pki = join(tmp.dir, "engine/etc/pki/ovirt-engine");
  mkdirs(join(pki, "private"), join(pki, "certs"), join(pki, "keys"), join(pki, "requests"));
  ca = { cert: join(pki, "ca.pem"), key: join(pki, "private/ca.pem"), serial: join(pki, "serial.txt") };
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca.key, "-out", ca.cert, "-days", "2", "-subj", "/C=US/O=Example/CN=engine.example.41234");
  caPem = readFileSync(ca.cert, "utf8");
}, 60_000);

afterAll(async () => {
  for (const p of started) await p.stop();
  echo?.stop(true);
  if (rogue) removeEngineKeys(rogue);
  tmp?.cleanup();
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<ProxyProcess> {
  const p = await startProxy(["serve", ...args], { env: { NOVNC_PROXY_LISTEN: "127.0.0.1:0", ...env } });
  started.push(p);
  return p;
}

const ticketFor = (host: string, port: number) => signTicket({ keyPem: engineKeyPem, certPem: engineCertPem, host, port });
const rogueTicket = () => signTicket({ keyPem: rogue.keyPem, certPem: rogue.certPem, host: "127.0.0.1", port: echo.port });

/** What the engine's console page does: wss://proxy/<ticket>, subprotocol binary, from the engine's origin. */
const fromEngine = { Origin: ENGINE_ORIGIN, "Sec-WebSocket-Protocol": "binary" };

/** Opens a session as the engine's page would and checks bytes reach the VNC target and come back. */
async function expectSessionFlows(port: number, ticket: string): Promise<void> {
  const c = await RawWsClient.connect(port, `/${ticket}`, fromEngine);
  try {
    expect(c.reply.status).toBe(101);
    expect(c.reply.headers["sec-websocket-protocol"]).toBe("binary");
    const got: Uint8Array[] = [];
    c.onBinary = (b) => got.push(b);
    c.send(new TextEncoder().encode("RFB 003.008\n"));
    await c.until(() => Buffer.concat(got).toString() === "RFB 003.008\n", 5000);
  } finally {
    c.close();
  }
}

/** A browser that trusts the engine CA accepts the proxy's certificate (chain and name). */
async function trustedByEngineCa(port: number): Promise<number> {
  const r = await fetch(`https://127.0.0.1:${port}/healthz`, { tls: { ca: caPem } } as RequestInit);
  await r.arrayBuffer();
  return r.status;
}

describe("(1) on the engine machine, from engine-setup's files", () => {
  const root = () => join(tmp.dir, "engine");
  const etc = () => join(root(), "etc/ovirt-engine");
  const conf = () => join(etc(), "ovirt-websocket-proxy.conf");
  const pki = () => join(root(), "etc/pki/ovirt-engine");

  beforeAll(() => {
    const p = pki();
    // pki-enroll-pkcs12.sh: key + cert signed by the CA, then `openssl pkcs12 -export` without -name.
    for (const [name, cn] of [["engine", "engine.example"], ["websocket-proxy", "engine.example"]] as const) {
      const key = join(tmp.dir, `${name}.tmp.key`);
      const cer = join(tmp.dir, `${name}.tmp.cer`);
      enroll(key, cer, cn, "DNS:engine.example,DNS:localhost,IP:127.0.0.1");
      openssl("pkcs12", "-export", "-in", cer, "-inkey", key, "-passout", "pass:mypass", "-out", join(p, `keys/${name}.p12`));
      rmSync(key);
      rmSync(cer);
      chmodSync(join(p, `keys/${name}.p12`), 0o600);
    }
    // engine-setup's exports (spec section 7).
    openssl("pkcs12", "-in", join(p, "keys/engine.p12"), "-passin", "pass:mypass", "-nokeys", "-out", join(p, "certs/engine.cer"));
    openssl("pkcs12", "-in", join(p, "keys/websocket-proxy.p12"), "-passin", "pass:mypass", "-nokeys", "-out", join(p, "certs/websocket-proxy.cer"));
    openssl("pkcs12", "-in", join(p, "keys/websocket-proxy.p12"), "-passin", "pass:mypass", "-nodes", "-nocerts", "-out", join(p, "keys/websocket-proxy.key.nopass"));
    chmodSync(join(p, "keys/websocket-proxy.key.nopass"), 0o600);
    // The engine signs tickets with the key in engine.p12.
    engineKeyPem = openssl("pkcs12", "-in", join(p, "keys/engine.p12"), "-passin", "pass:mypass", "-nodes", "-nocerts");
    engineCertPem = readFileSync(join(p, "certs/engine.cer"), "utf8");

    // engine-setup writes only the drop-in directory; ovirt-websocket-proxy.conf itself does not exist.
    mkdirs(`${conf()}.d`);
    writeFileSync(
      join(`${conf()}.d`, "10-setup.conf"),
      [
        "PROXY_PORT=6100",
        `SSL_CERTIFICATE=${p}/certs/websocket-proxy.cer`,
        `SSL_KEY=${p}/keys/websocket-proxy.key.nopass`,
        `CERT_FOR_DATA_VERIFICATION=${p}/certs/engine.cer`,
        "SSL_ONLY=True",
        "",
      ].join("\n"),
    );
    // The README's drop-in: what novnc-proxy needs beyond engine-setup's lines.
    writeFileSync(
      join(`${conf()}.d`, "50-novnc-proxy.conf"),
      ["# novnc-proxy: only the hosts' VNC ports (the engine's origins come from engine.cer)", "NOVNC_PROXY_ALLOW=192.0.2.0/24", ""].join("\n"),
    );
  }, 60_000);

  test("check-config accepts the layout and shows the drop-in's allowlist", async () => {
    const r = await runCli(["check-config", "--config", conf()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`config files: ${conf()}.d/10-setup.conf, ${conf()}.d/50-novnc-proxy.conf`);
    expect(r.stdout).toContain("allow: 192.0.2.0/24:5900-6923");
    expect(r.stdout).toContain("listen: https://0.0.0.0:6100");
    expect(r.stdout.trimEnd()).toEndWith("config OK");
  });

  test("serve --config: an engine-signed ticket opens the console, a ticket signed by another key gets 403", async () => {
    const p = await serve(["--config", conf()], { NOVNC_PROXY_ALLOW: "127.0.0.1" });
    expect(p.output()).toContain('engine-cert="');
    expect(await trustedByEngineCa(p.port)).toBe(200);
    await expectSessionFlows(p.port, ticketFor("127.0.0.1", echo.port));
    const bad = await upgradeStatus(p.port, `/${rogueTicket()}`, fromEngine);
    expect(bad.status).toBe(403);
    expect(p.output()).not.toContain("PRIVATE KEY");
  });

  test.each(["flag", "env"])("serve --config with the keystore websocket-proxy.p12 (as a %s) takes the TLS pair straight from it", async (how) => {
    const p12 = join(pki(), "keys/websocket-proxy.p12");
    const p =
      how === "flag"
        ? await serve(["--config", conf(), "--keystore", p12], { NOVNC_PROXY_ALLOW: "127.0.0.1" })
        : await serve(["--config", conf()], { NOVNC_PROXY_ALLOW: "127.0.0.1", NOVNC_PROXY_KEYSTORE: p12 });
    expect(p.output()).toContain(`cert="C=US, O=Example, CN=engine.example"`);
    expect(await trustedByEngineCa(p.port)).toBe(200);
    await expectSessionFlows(p.port, ticketFor("127.0.0.1", echo.port));
    expect((await upgradeStatus(p.port, `/${rogueTicket()}`, fromEngine)).status).toBe(403);
    expect(p.output()).not.toContain("mypass");
  });
});

describe("(2) on a separate machine, with a certificate from the engine CA", () => {
  const root = () => join(tmp.dir, "proxy");
  const pki = () => join(root(), "etc/pki/novnc-proxy");
  const conf = () => join(root(), "etc/novnc-proxy/novnc-proxy.conf");
  let flags: string[];

  beforeAll(() => {
    mkdirs(pki(), join(root(), "etc/novnc-proxy"));
    // Key and CSR on the proxy machine; the engine CA signs the request (pki-enroll-request.sh).
    enroll(join(pki(), "proxy.key.nopass"), join(pki(), "proxy.cer"), "proxy.example", "DNS:proxy.example,DNS:localhost,IP:127.0.0.1");
    chmodSync(join(pki(), "proxy.key.nopass"), 0o600);
    // The engine certificate, copied once from the engine.
    copyFileSync(join(tmp.dir, "engine/etc/pki/ovirt-engine/certs/engine.cer"), join(pki(), "engine.cer"));
    flags = [
      "--cert", join(pki(), "proxy.cer"),
      "--key", join(pki(), "proxy.key.nopass"),
      "--engine-cert", join(pki(), "engine.cer"),
      "--allow", "127.0.0.1",
    ];
    writeFileSync(
      conf(),
      [
        "NOVNC_PROXY_LISTEN=6100",
        `NOVNC_PROXY_CERT=${pki()}/proxy.cer`,
        `NOVNC_PROXY_KEY=${pki()}/proxy.key.nopass`,
        `NOVNC_PROXY_ENGINE_CERT=${pki()}/engine.cer`,
        "NOVNC_PROXY_ALLOW=127.0.0.1",
        "",
      ].join("\n"),
    );
  }, 60_000);

  test("serve with flags: the engine's origin gets 101, any other origin 403", async () => {
    const p = await serve(flags);
    expect(await trustedByEngineCa(p.port)).toBe(200);
    await expectSessionFlows(p.port, ticketFor("127.0.0.1", echo.port));
    const other = await upgradeStatus(p.port, `/${ticketFor("127.0.0.1", echo.port)}`, { ...fromEngine, Origin: "https://evil.example" });
    expect(other.status).toBe(403);
    expect(other.body).toMatch(/origin/i);
    expect((await upgradeStatus(p.port, `/${rogueTicket()}`, fromEngine)).status).toBe(403);
  });

  test("the same settings from a config file (what install-service --config runs)", async () => {
    const p = await serve(["--config", conf()]);
    await expectSessionFlows(p.port, ticketFor("127.0.0.1", echo.port));
    expect((await upgradeStatus(p.port, `/${ticketFor("127.0.0.1", echo.port)}`, { ...fromEngine, Origin: "https://evil.example" })).status).toBe(403);
  });
});

describe("(3) on every host, with the vdsm PEM pair", () => {
  const root = () => join(tmp.dir, "host");
  const vdsm = () => join(root(), "etc/pki/vdsm");
  const conf = () => join(root(), "etc/novnc-proxy/novnc-proxy.conf");

  beforeAll(() => {
    mkdirs(join(vdsm(), "keys"), join(vdsm(), "certs"), join(root(), "etc/pki/novnc-proxy"), join(root(), "etc/novnc-proxy"));
    // What host deployment leaves on a host: vdsm's key and certificate from the engine CA, and the CA.
    enroll(join(vdsm(), "keys/vdsmkey.pem"), join(vdsm(), "certs/vdsmcert.pem"), "host1.example", "DNS:host1.example,IP:127.0.0.1");
    chmodSync(join(vdsm(), "keys/vdsmkey.pem"), 0o440); // vdsm:kvm 0440 on a real host
    copyFileSync(ca.cert, join(vdsm(), "certs/cacert.pem"));
    copyFileSync(join(tmp.dir, "engine/etc/pki/ovirt-engine/certs/engine.cer"), join(root(), "etc/pki/novnc-proxy/engine.cer"));
    // The host's own address is 127.0.0.1 here; on a real host, its display network address.
    writeFileSync(
      conf(),
      [
        "NOVNC_PROXY_LISTEN=6100",
        `NOVNC_PROXY_CERT=${vdsm()}/certs/vdsmcert.pem`,
        `NOVNC_PROXY_KEY=${vdsm()}/keys/vdsmkey.pem`,
        `NOVNC_PROXY_ENGINE_CERT=${root()}/etc/pki/novnc-proxy/engine.cer`,
        "NOVNC_PROXY_ALLOW=127.0.0.1",
        "",
      ].join("\n"),
    );
  }, 60_000);

  test("a ticket for this host opens the console; a ticket for another host gets 403", async () => {
    const p = await serve(["--config", conf()]);
    expect(await trustedByEngineCa(p.port)).toBe(200);
    await expectSessionFlows(p.port, ticketFor("127.0.0.1", echo.port));
    const elsewhere = await upgradeStatus(p.port, `/${ticketFor("10.0.0.5", 5900)}`, fromEngine);
    expect(elsewhere.status).toBe(403);
    // Another port on this host outside the VNC range is refused as well.
    expect((await upgradeStatus(p.port, `/${ticketFor("127.0.0.1", 22)}`, fromEngine)).status).toBe(403);
    expect((await upgradeStatus(p.port, `/${rogueTicket()}`, fromEngine)).status).toBe(403);
  });

  test("check-config shows the allowlist restricted to the host", async () => {
    const r = await runCli(["check-config", "--config", conf()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("allow: 127.0.0.1:5900-6923\n");
    expect(r.stdout).toContain('certificate: "C=US, O=Example, CN=host1.example"');
  });
});
