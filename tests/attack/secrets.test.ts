/**
 * Attack: secrets in logs, metrics and error bodies (security.md "Secrets in logs"). A full
 * attack run against proxies at debug level, in text and JSON log formats, with a password-
 * protected keystore: good, forged, expired, malformed and oversized tickets in the path and in
 * cookies, unsigned target cookies, KubeVirt tokens, failing targets, bad keystore passwords.
 * Then every ticket, cookie value, signature, token and password used is searched for in
 * everything the proxies printed and answered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { opensslP12, tempDir } from "../helpers/keystores.ts";
import { runCli, startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";
import { encodeTicket, formatStamp, pssSign, signTicket } from "../../src/ticket/sign.ts";

const KEYSTORE_PASSWORD = "Kst0re-Pa55w0rd-7f3a9c";
const WRONG_PASSWORD = "Wr0ng-Pa55w0rd-e81b22";
const KUBEVIRT_TOKEN = "kubevirt-bearer-9d8c7b6a5f4e3d2c1b0a";
const UNSIGNED_COOKIE_SECRETISH = "unsigned-cookie-value-4b3c2d1e";

let engine: EngineKeys;
let other: EngineKeys;
let tls: EngineKeys;
let tmp: { dir: string; cleanup: () => void };
let text: ProxyProcess;
let json: ProxyProcess;
let target: TCPSocketListener<undefined>;
/** Every secret the run used; scanned for at the end. */
const secrets = new Set<string>();
/** Everything the proxies answered (bodies, headers, close reasons, metrics). */
let answers = "";
let cliOutput = "";

function remember(ticket: string): string {
  secrets.add(ticket);
  try {
    const f = JSON.parse(Buffer.from(ticket, "base64").toString("utf8"));
    for (const k of ["v2_signature", "signature", "salt"]) if (typeof f[k] === "string" && f[k].length >= 12) secrets.add(f[k]);
  } catch {
    // not a JSON ticket: the raw text is the secret
  }
  return ticket;
}

function ticket(port: number, opts: { keys?: EngineKeys; now?: Date; host?: string } = {}): string {
  const k = opts.keys ?? engine;
  return remember(signTicket({ keyPem: k.keyPem, certPem: k.certPem, host: opts.host ?? "127.0.0.1", port, now: opts.now }));
}

/** A signed ticket whose data carries a KubeVirt path and token. */
function kubevirtTicket(port: number): string {
  const now = new Date();
  const values = {
    salt: Buffer.from("kv-salt!").toString("base64"),
    data: encodeURIComponent(JSON.stringify({ host: "127.0.0.1", port: String(port), ssl_target: false, path: "/apis/subresources.kubevirt.io/v1/vnc", token: KUBEVIRT_TOKEN })),
    validFrom: formatStamp(now),
    validTo: formatStamp(new Date(now.getTime() + 120_000)),
  };
  const msg = values.salt + values.data + values.validFrom + values.validTo;
  return remember(encodeTicket({ ...values, signedFields: "salt,data,validFrom,validTo", v2_signature: pssSign(msg, createPrivateKey(engine.keyPem)) }));
}

async function attack(port: number): Promise<void> {
  const note = (r: { status: number; headers: Record<string, string>; body: string }) => {
    answers += `${r.status} ${JSON.stringify(r.headers)} ${r.body}\n`;
  };
  const good = ticket(target.port);
  note(await upgradeStatus(port, `/${good}`));
  note(await upgradeStatus(port, `/${encodeURIComponent(ticket(target.port))}`));
  note(await upgradeStatus(port, "/", { Cookie: `novnc-ticket=${ticket(target.port)}` }));
  note(await upgradeStatus(port, `/${ticket(target.port, { keys: other })}`));
  note(await upgradeStatus(port, `/${ticket(target.port, { now: new Date(Date.now() - 3_600_000) })}`));
  note(await upgradeStatus(port, `/${ticket(5900, { host: "169.254.169.254" })}`));
  note(await upgradeStatus(port, `/${ticket(target.port)}`, { Origin: "https://evil.example" }));
  note(await upgradeStatus(port, `/${ticket(target.port)}`, { "Sec-WebSocket-Protocol": "base64" }));
  note(await upgradeStatus(port, `/${kubevirtTicket(target.port)}`));
  // A shape-valid ticket with a bad signature, and a malformed one that still looks like a secret.
  const f = JSON.parse(Buffer.from(ticket(target.port), "base64").toString("utf8"));
  f.data = encodeURIComponent(JSON.stringify({ host: "127.0.0.1", port: "22", ssl_target: false }));
  note(await upgradeStatus(port, `/${remember(encodeTicket(f))}`));
  note(await upgradeStatus(port, `/${remember(Buffer.from(`{"salt":"not-a-ticket-${KUBEVIRT_TOKEN}"}`).toString("base64"))}`));
  note(await upgradeStatus(port, `/${remember("%%%garbage-ticket-Zq9Xw8Vu7")}`));
  // Unsigned target cookies (the proxies run with --allow-unsigned).
  secrets.add(UNSIGNED_COOKIE_SECRETISH);
  note(await upgradeStatus(port, "/", { Cookie: `novnc-target=127.0.0.1:${target.port}; other=${UNSIGNED_COOKIE_SECRETISH}` }));
  note(await upgradeStatus(port, "/", { Cookie: `novnc-target=${UNSIGNED_COOKIE_SECRETISH}` }));
  note(await upgradeStatus(port, "/", { Cookie: `novnc-ticket=${remember(`cookie-ticket-${"Q".repeat(40)}`)}` }));
  // A ticket in a plain GET (not an upgrade), and a session that is opened, used and closed by the target.
  const plain = await fetch(`https://127.0.0.1:${port}/${ticket(target.port)}`, { tls: { rejectUnauthorized: false } });
  answers += `${plain.status} ${await plain.text()}\n`;
  const c = await RawWsClient.connect(port, `/${ticket(target.port)}`);
  c.send(new TextEncoder().encode("hello"));
  await c.until(() => c.closeFrame !== null || c.ended, 5000).catch(() => {});
  answers += `${JSON.stringify(c.closeFrame)}\n`;
  c.close();
  const metrics = await fetch(`https://127.0.0.1:${port}/metrics`, { tls: { rejectUnauthorized: false } });
  answers += `${metrics.status} ${await metrics.text()}\n`;
  const health = await fetch(`https://127.0.0.1:${port}/healthz`, { tls: { rejectUnauthorized: false } });
  answers += `${health.status} ${await health.text()}\n`;
}

beforeAll(async () => {
  engine = makeEngineKeys("engine.test");
  other = makeEngineKeys("engine.test");
  tls = makeEngineKeys("proxy.test");
  tmp = tempDir("novnc-secrets-");
  const p12 = opensslP12(join(tmp.dir, "websocket-proxy.p12"), { cert: tls.certFile, key: tls.keyFile }, { password: KEYSTORE_PASSWORD });
  const pwFile = join(tmp.dir, "password");
  writeFileSync(pwFile, `${KEYSTORE_PASSWORD}\n`, { mode: 0o600 });
  secrets.add(KEYSTORE_PASSWORD);
  secrets.add(WRONG_PASSWORD);
  secrets.add(KUBEVIRT_TOKEN);
  // A target that answers once, then hangs up: sessions open and close with reasons.
  target = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s) {
        s.write(new TextEncoder().encode("RFB 003.008\n"));
        s.end();
      },
    },
  });
  const common = ["serve", "--listen", "127.0.0.1:0", "--engine-cert", engine.certFile, "--allow-unsigned", "--allow", `127.0.0.1:${target.port}`, "--log-level", "debug", "--refusal-log-limit", "0"];
  [text, json] = await Promise.all([
    startProxy([...common, "--keystore", p12, "--password-file", pwFile]),
    startProxy([...common, "--keystore", p12, "--log-format", "json"], { env: { NOVNC_KEYSTORE_PASSWORD: KEYSTORE_PASSWORD } }),
  ]);
  await attack(text.port);
  await attack(json.port);
  // Start-up failures that involve the password: wrong password, flag and environment.
  for (const run of [
    await runCli(["serve", "--listen", "127.0.0.1:0", "--keystore", p12, "--password", WRONG_PASSWORD, "--engine-cert", engine.certFile]),
    await runCli(["serve", "--listen", "127.0.0.1:0", "--keystore", p12, "--engine-cert", engine.certFile, "--debug"], { NOVNC_KEYSTORE_PASSWORD: WRONG_PASSWORD }),
    await runCli(["export-cert", "--keystore", p12, "--password", WRONG_PASSWORD, "--cert-out", join(tmp.dir, "out.cer"), "--key-out", join(tmp.dir, "out.key")]),
  ]) {
    cliOutput += `${run.code}\n${run.stdout}\n${run.stderr}\n`;
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([text?.stop(), json?.stop()]);
  target?.stop(true);
  for (const k of [engine, other, tls]) if (k) removeEngineKeys(k);
  tmp?.cleanup();
});

/** Windows of a secret long enough to be unmistakable: the whole thing if short, else overlapping 24-character slices. */
function windows(secret: string): string[] {
  if (secret.length <= 32) return [secret];
  const out: string[] = [];
  for (let i = 0; i + 24 <= secret.length; i += 12) out.push(secret.slice(i, i + 24));
  return out;
}

function leaks(haystack: string): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    if (windows(s).some((w) => haystack.includes(w))) found.push(`${s.slice(0, 6)}... (${s.length} chars)`);
  }
  return found;
}

describe("no secret in logs, metrics or answers after a full attack run", () => {
  test("the run happened: sessions were opened and refusals logged in both formats", () => {
    expect(secrets.size).toBeGreaterThan(30);
    for (const p of [text, json]) {
      expect(p.output()).toMatch(/refused/);
      expect(p.output()).toMatch(/close/);
    }
    expect(json.output()).toMatch(/^\{.*\}$/m);
    expect(answers).toMatch(/novnc_|sessions/);
  });

  test("the text-format log (debug level) contains no ticket, signature, cookie value, token or password", () => {
    expect(leaks(text.output())).toEqual([]);
  });

  test("the JSON-format log (debug level) contains none either", () => {
    expect(leaks(json.output())).toEqual([]);
  });

  test("refusal bodies, headers, close reasons, /metrics and /healthz contain none", () => {
    expect(leaks(answers)).toEqual([]);
  });

  test("CLI errors about a wrong keystore password do not echo it", () => {
    expect(cliOutput.match(/wrong password/g)?.length).toBeGreaterThanOrEqual(3);
    expect(leaks(cliOutput)).toEqual([]);
  });
});
