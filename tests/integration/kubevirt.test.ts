/**
 * Websocket targets (KubeVirt) through the compiled binary: a TLS websocket stand-in for the
 * Kubernetes API's VNC subresource (tests/helpers/kubevirt-endpoint.ts) that checks the bearer
 * subprotocol and relays to a real QEMU. The certificate is verified before the token is sent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { startKubevirtEndpoint, type KubevirtEndpoint } from "../helpers/kubevirt-endpoint.ts";
import { startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { startQemu, type Qemu } from "../helpers/qemu.ts";
import { makeVncPki, type VncPki } from "../helpers/vnc-pki.ts";
import { openWs, rfbHandshake } from "../helpers/rfb-client.ts";
import { upgradeStatus } from "../helpers/raw-ws.ts";
import { signTicket } from "../../src/ticket/sign.ts";

const PASSWORD = "Kv8m2Qp5";
const TOKEN = "eyJhbGciOiJSUzI1NiJ9.k8s-service-account.token";
const PATH = "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/vm1/vnc";
const hasQemu = Bun.which("qemu-system-x86_64") !== null;

let engine: EngineKeys;
let tlsKeys: EngineKeys;
let clusterPki: VncPki;
let otherPki: VncPki;
let qemu: Qemu;
let trusted: KubevirtEndpoint;
let untrusted: KubevirtEndpoint;
let withCa: ProxyProcess;
let insecure: ProxyProcess;
let neither: ProxyProcess;
/** Trusts the impostor's CA, whose server certificate names only kubevirt.example.com. */
let wrongName: ProxyProcess;

const ticket = (port: number, token: string | null = TOKEN) =>
  signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "127.0.0.1", port, path: PATH, token });

describe.skipIf(!hasQemu)("websocket (KubeVirt) targets through the binary", () => {
  beforeAll(async () => {
    engine = makeEngineKeys("engine.test");
    tlsKeys = makeEngineKeys("proxy.test");
    clusterPki = makeVncPki({ caName: "kubernetes CA" });
    otherPki = makeVncPki({ caName: "impostor CA", serverNames: ["DNS:kubevirt.example.com"] });
    qemu = await startQemu({ password: PASSWORD });
    const endpoint = (pki: VncPki) =>
      startKubevirtEndpoint({
        certPem: readFileSync(join(pki.dir, "server-cert.pem"), "utf8"),
        keyPem: readFileSync(join(pki.dir, "server-key.pem"), "utf8"),
        token: TOKEN,
        vncPort: qemu.port,
      });
    [trusted, untrusted] = await Promise.all([endpoint(clusterPki), endpoint(otherPki)]);
    const base = ["serve", "--listen", "127.0.0.1:0", "--cert", tlsKeys.certFile, "--key", tlsKeys.keyFile, "--engine-cert", engine.certFile];
    const allow = ["--allow", `127.0.0.1:${trusted.port},${untrusted.port}`];
    [withCa, insecure, neither, wrongName] = await Promise.all([
      startProxy([...base, ...allow, "--kubevirt-ca", join(clusterPki.dir, "ca-cert.pem")]),
      startProxy([...base, ...allow, "--kubevirt-insecure"]),
      startProxy([...base, ...allow]),
      startProxy([...base, ...allow, "--kubevirt-ca", join(otherPki.dir, "ca-cert.pem")]),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([withCa?.stop(), insecure?.stop(), neither?.stop(), wrongName?.stop()]);
    await Promise.all([trusted?.stop(), untrusted?.stop(), qemu?.stop()]);
    for (const p of [clusterPki, otherPki]) p?.cleanup();
    for (const k of [engine, tlsKeys]) if (k) removeEngineKeys(k);
  });

  test("--kubevirt-ca: connects with both subprotocols and the path; VNC auth runs end to end to QEMU", async () => {
    const t = await openWs(`wss://127.0.0.1:${withCa.port}/${ticket(trusted.port)}`);
    const r = await rfbHandshake(t, PASSWORD);
    expect(r.securityResult).toBe("ok");
    expect(r.name).toContain("QEMU");
    expect(trusted.paths.at(-1)).toBe(PATH);
    expect(trusted.protocolHeaders.at(-1)).toBe(`base64url.bearer.authorization.k8s.io.${Buffer.from(TOKEN).toString("base64url")}, plain.kubevirt.io`);
    t.close();
    await t.closed;
    expect(withCa.output()).not.toContain(TOKEN);
  });

  test("the target closing its websocket ends the session with 1000 after the bytes it sent", async () => {
    const t = await openWs(`wss://127.0.0.1:${withCa.port}/${ticket(trusted.port)}`);
    const r = await rfbHandshake(t, PASSWORD);
    expect(r.securityResult).toBe("ok");
    trusted.closeAll();
    expect(await t.closed).toEqual({ code: 1000, reason: "Target closed" });
  });

  test("--kubevirt-insecure: connects to a certificate nobody vouches for, and says so at start", async () => {
    expect(insecure.output()).toContain("--kubevirt-insecure");
    const t = await openWs(`wss://127.0.0.1:${insecure.port}/${ticket(untrusted.port)}`);
    const r = await rfbHandshake(t, PASSWORD);
    expect(r.securityResult).toBe("ok");
    t.close();
    await t.closed;
  });

  test("neither: an untrusted certificate closes 1011 naming the step, and the endpoint never saw the token", async () => {
    const before = trusted.requests;
    const t = await openWs(`wss://127.0.0.1:${neither.port}/${ticket(trusted.port)}`);
    const closed = await t.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toStartWith("websocket target certificate not trusted");
    expect(trusted.requests).toBe(before);
    // The same for a CA that is given but is not the one that signed the target.
    const seenBefore = untrusted.protocolHeaders.length;
    const u = await openWs(`wss://127.0.0.1:${withCa.port}/${ticket(untrusted.port)}`);
    expect((await u.closed).code).toBe(1011);
    expect(untrusted.protocolHeaders.length).toBe(seenBefore);
  });

  test("a trusted certificate that does not name the ticket's host closes 1011, and the endpoint never saw the token", async () => {
    const seenBefore = untrusted.protocolHeaders.length;
    const t = await openWs(`wss://127.0.0.1:${wrongName.port}/${ticket(untrusted.port)}`);
    const closed = await t.closed;
    expect(closed.code).toBe(1011);
    // Bun's own verification already reports the name mismatch; certNamesHost is the second check.
    expect(closed.reason).toMatch(/^websocket target certificate (not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)|does not name 127\.0\.0\.1)$/);
    expect(untrusted.protocolHeaders.length).toBe(seenBefore);
    expect(wrongName.output()).not.toContain(TOKEN);
  });

  test("a wrong token ends the session promptly with 1011 (HTTP 401), well inside the connect timeout", async () => {
    const t = await openWs(`wss://127.0.0.1:${withCa.port}/${ticket(trusted.port, "not-the-token")}`);
    const closed = await Promise.race([t.closed, Bun.sleep(8000).then(() => null)]);
    expect(closed).toEqual({ code: 1011, reason: "websocket target refused the upgrade (HTTP 401)" });
  });

  test("the allowlist applies: a port that is not allowed is refused with 403 before any connection", async () => {
    const before = trusted.requests;
    const reply = await upgradeStatus(withCa.port, `/${ticket(qemu.port)}`, { "Sec-WebSocket-Protocol": "binary" });
    expect(reply.status).toBe(403);
    expect(trusted.requests).toBe(before);
  });
});
