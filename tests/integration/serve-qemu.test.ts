/**
 * End to end with real parts: the compiled binary, a real QEMU whose VNC password is set over
 * QMP (as vdsm does), a minted ticket, and a client doing the whole RFB handshake over wss://.
 * Also VeNCrypt: QEMU with tls-creds-x509 and an `ssl_target: true` ticket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { engineTicket, makeProxyKeys, removeProxyKeys, serveArgs, startProxy, type ProxyKeys, type ProxyProcess } from "../helpers/proxy.ts";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import { makeVncPki, type VncPki } from "../helpers/vnc-pki.ts";
import { openWs, rfbHandshake } from "../helpers/rfb-client.ts";
import { upgradeStatus } from "../helpers/raw-ws.ts";

const PASSWORD = "Zk3q9Tx1";
let keys: ProxyKeys;
let pki: VncPki;
let plain: Qemu;
let tls: Qemu;
let proxy: ProxyProcess;

const hasQemu = Bun.which("qemu-system-x86_64") !== null;

function ticket(port: number, sslTarget = false): string {
  return engineTicket(keys.engine, port, { sslTarget });
}

describe.skipIf(!hasQemu)("through the proxy to QEMU", () => {
  beforeAll(async () => {
    keys = makeProxyKeys();
    pki = makeVncPki();
    [plain, tls] = await Promise.all([startQemu({ password: PASSWORD }), startQemu({ password: PASSWORD, tlsDir: pki.dir })]);
    proxy = await startProxy([
      ...serveArgs(keys),
      "--allow", `127.0.0.1:${plain.port},${tls.port}`,
      "--vnc-ca", join(pki.dir, "ca-cert.pem"),
      "--vnc-verify-name",
    ]);
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([plain?.stop(), tls?.stop()]);
    pki?.cleanup();
    removeProxyKeys(keys);
  });

  test("a ticket and the VNC password give ServerInit with the VM's screen size and name", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(plain.port)}`);
    expect(t.protocol).toBe("binary");
    const r = await rfbHandshake(t, PASSWORD);
    expect(r.securityResult).toBe("ok");
    expect(r.width).toBeGreaterThanOrEqual(640);
    expect(r.height).toBeGreaterThanOrEqual(400);
    expect(r.name).toContain("QEMU");
    t.close();
  });

  test("a wrong password fails at SecurityResult", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(plain.port)}`);
    const r = await rfbHandshake(t, "wrong-pw");
    expect(r.securityResult).toBe("failed");
    t.close();
  });

  test("ssl_target: the proxy terminates VeNCrypt, verifies QEMU's certificate, and auth runs end to end", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(tls.port, true)}`);
    const r = await rfbHandshake(t, PASSWORD);
    expect(r.securityTypes).toEqual([2]);
    expect(r.securityResult).toBe("ok");
    expect(r.name).toContain("QEMU");
    t.close();
  });

  test("ssl_target against a plain QEMU closes 1011 saying the server offers no TLS", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(plain.port, true)}`);
    const c = await t.closed;
    expect(c.code).toBe(1011);
    expect(c.reason).toMatch(/does not offer TLS/);
  });

  test("a plain ticket against a VeNCrypt-only QEMU closes 1011 saying they disagree", async () => {
    const t = await openWs(`wss://127.0.0.1:${proxy.port}/${ticket(tls.port, false)}`);
    await t.recv(12); // QEMU offers its security types once the client has sent its version
    t.send(new TextEncoder().encode("RFB 003.008\n"));
    const c = await t.closed;
    expect(c.code).toBe(1011);
    expect(c.reason).toMatch(/requires TLS/);
  });

  test("a port outside the allowlist is refused before the upgrade", async () => {
    expect((await upgradeStatus(proxy.port, `/${ticket(6923)}`)).status).toBe(403);
  });

  test("QEMU going away reaches the client as 1000 Target closed", async () => {
    const q = await startQemu({ password: PASSWORD });
    const p = await startProxy(serveArgs(keys, "--allow", `127.0.0.1:${q.port}`));
    try {
      const t = await openWs(`wss://127.0.0.1:${p.port}/${ticket(q.port)}`);
      expect((await rfbHandshake(t, PASSWORD)).securityResult).toBe("ok");
      await q.stop();
      const c = await t.closed;
      expect(c).toEqual({ code: 1000, reason: "Target closed" });
    } finally {
      await p.stop();
      await q.stop();
    }
  });

  test("no line of the proxy's log holds a ticket or the password", () => {
    const out = proxy.output();
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toMatch(/eyJ[A-Za-z0-9+/=]{20,}/); // base64 of '{"'
    expect(out).toMatch(/close \S+ client=127\.0\.0\.1 target=127\.0\.0\.1:\d+ ticket=[0-9a-f]{12} up=\d+ down=\d+/);
  });
});
