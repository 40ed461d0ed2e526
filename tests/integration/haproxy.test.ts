/**
 * The README's load-balancer recipe end to end (issue 14): Debian's haproxy with
 * assets/haproxy.cfg in front of two instances of the compiled binary sharing one Redis.
 * TLS is terminated by HAProxy and re-encrypted (verified against the CA, host names checked),
 * `option forwardfor` tells the instances the browser's address, websocket upgrades pass through.
 * Only what a test has to change is changed: listen addresses and ports, file paths, the log
 * target, and HAProxy connects from 127.0.0.3 so the instances can tell it from the browser
 * (127.0.0.1); `--trusted-proxy 127.0.0.3` is HAProxy's address.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess, TCPSocketListener } from "bun";
import { run, tempDir } from "../helpers/keystores.ts";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { engineTicket, ROOT, startProxy, runCli, type ProxyProcess } from "../helpers/proxy.ts";
import { listenEcho } from "../helpers/targets.ts";
import { RawWsClient, roundTrip } from "../helpers/raw-ws.ts";
import { canConnect, freePort } from "../helpers/net.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

const HAPROXY_ADDRESS = "127.0.0.3";
let tmp: { dir: string; cleanup: () => void };
let engine: EngineKeys;
let echo: TCPSocketListener<undefined>;
let redis: TestRedis;
let haproxy: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let haproxyPort = 0;
let haproxyLog = "";
const proxies: ProxyProcess[] = [];
const clients: RawWsClient[] = [];

const openssl = (...args: string[]) => run(["openssl", ...args]);

/** A key and a certificate for `cn` (also its DNS name) signed by the test CA. */
function leaf(name: string, cn: string): { cert: string; key: string } {
  const key = join(tmp.dir, `${name}.key`);
  const cert = join(tmp.dir, `${name}.cer`);
  const ext = join(tmp.dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth\n`);
  openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", `${cert}.req`, "-subj", `/CN=${cn}`);
  openssl("x509", "-req", "-in", `${cert}.req`, "-CA", join(tmp.dir, "ca.pem"), "-CAkey", join(tmp.dir, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert);
  return { cert, key };
}

beforeAll(async () => {
  tmp = tempDir("novnc-haproxy-");
  engine = makeEngineKeys("engine.test");
  echo = listenEcho();
  redis = await startRedis();
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(tmp.dir, "ca.key"), "-out", join(tmp.dir, "ca.pem"), "-days", "2", "-subj", "/CN=engine test CA");
  const front = leaf("front", "proxy.example");
  writeFileSync(join(tmp.dir, "proxy.example.pem"), readFileSync(front.cert, "utf8") + readFileSync(front.key, "utf8"));
  const backends = [leaf("proxy1", "proxy1.example"), leaf("proxy2", "proxy2.example")];
  for (const [i, b] of backends.entries()) {
    const p = await startProxy([
      "serve", "--listen", "127.0.0.1:0", "--cert", b.cert, "--key", b.key, "--engine-cert", engine.certFile,
      "--allow", `127.0.0.1:${echo.port}`, "--trusted-proxy", HAPROXY_ADDRESS, "--max-sessions-per-ip", "1",
      "--store", redis.url, "--instance-id", `proxy${i + 1}`,
    ]);
    proxies.push(p);
  }
  haproxyPort = freePort();
  const cfg = readFileSync(join(ROOT, "assets/haproxy.cfg"), "utf8")
    .replace("log /dev/log local0", "log stdout format raw local0")
    .replace("bind :6100", `bind 127.0.0.1:${haproxyPort}`)
    .replaceAll("/etc/haproxy/proxy.example.pem", join(tmp.dir, "proxy.example.pem"))
    .replaceAll("/etc/pki/ovirt-engine/ca.pem", join(tmp.dir, "ca.pem"))
    .replace("192.0.2.11:6100", `127.0.0.1:${proxies[0]!.port}`)
    .replace("192.0.2.12:6100", `127.0.0.1:${proxies[1]!.port}`)
    .replaceAll(" check\n", ` check inter 500 source ${HAPROXY_ADDRESS}\n`);
  const cfgFile = join(tmp.dir, "haproxy.cfg");
  writeFileSync(cfgFile, cfg);
  haproxy = Bun.spawn(["haproxy", "-db", "-f", cfgFile], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const dec = new TextDecoder();
  for (const s of [haproxy.stdout, haproxy.stderr]) void (async () => { for await (const c of s) haproxyLog += dec.decode(c); })();
  // Both instances pass HAProxy's TLS health check (verified certificate, /healthz 200).
  const deadline = Date.now() + 15_000;
  while (!(await bothUp())) {
    if (haproxy.exitCode !== null || Date.now() > deadline) throw new Error(`haproxy not ready: ${haproxyLog}`);
    await Bun.sleep(200);
  }
}, 60_000);

/** Both backends have answered a health check (each instance logs nothing for /healthz, so ask HAProxy's peers). */
async function bothUp(): Promise<boolean> {
  if (!(await canConnect(haproxyPort))) return false;
  // Give the first check round (inter 500 ms) time to pass on both servers.
  await Bun.sleep(1200);
  return !/Server novnc-proxies\/proxy\d is DOWN/.test(haproxyLog);
}

afterAll(async () => {
  if (process.env.SHOW_HAPROXY_LOG) console.log(haproxyLog);
  for (const c of clients) c.close();
  if (haproxy && haproxy.exitCode === null) {
    haproxy.kill("SIGTERM");
    await haproxy.exited;
  }
  for (const p of proxies) await p.stop();
  await redis?.stop();
  echo?.stop(true);
  if (engine) removeEngineKeys(engine);
  tmp?.cleanup();
});

const ticket = () => engineTicket(engine, echo.port);

async function viaHaproxy(headers: Record<string, string> = {}): Promise<RawWsClient> {
  const c = await RawWsClient.connect(haproxyPort, `/${ticket()}`, headers);
  clients.push(c);
  return c;
}

const allOutput = () => proxies.map((p) => p.output()).join("");

test("a console session passes through HAProxy (TLS both ways, websocket upgrade), and the instances see the browser's address", async () => {
  const t = ticket();
  const c = await RawWsClient.connect(haproxyPort, `/${t}`);
  clients.push(c);
  expect(c.reply.status).toBe(101);
  await roundTrip(c, "through haproxy");
  expect(allOutput()).toMatch(/open s\S+ client=127\.0\.0\.1 /);
  expect(allOutput()).not.toContain(`client=${HAPROXY_ADDRESS}`);

  // The per-client cap (1) counts across both instances: HAProxy sends the next session to the
  // instance with fewer sessions, which refuses it because the store knows the other one.
  const second = await viaHaproxy();
  expect(second.reply.status).toBe(429);
  expect(proxies.every((p) => /open s\S+ client=127\.0\.0\.1 |refused 429 client=127\.0\.0\.1 /.test(p.output()))).toBe(true);

  const listed = await runCli(["sessions", "--store", redis.url, "--json"]);
  expect((JSON.parse(listed.stdout) as { client: string }[]).map((s) => s.client)).toEqual(["127.0.0.1"]);
  c.close();
  // The recipe's log line has no request path: the path is the ticket.
  await Bun.sleep(200);
  expect(haproxyLog).toMatch(/novnc-proxies\/proxy\d .* 101 /);
  expect(haproxyLog).not.toContain(t.slice(0, 40));
});

test("an X-Forwarded-For sent by the browser itself does not change the address the instances see", async () => {
  const deadline = Date.now() + 5000;
  let c = await viaHaproxy({ "X-Forwarded-For": "203.0.113.9" });
  while (c.reply.status === 429 && Date.now() < deadline) {
    await Bun.sleep(200); // the previous test's session is still being released
    c = await viaHaproxy({ "X-Forwarded-For": "203.0.113.9" });
  }
  expect(c.reply.status).toBe(101);
  await roundTrip(c, "spoofed");
  expect(allOutput()).not.toContain("client=203.0.113.9");
});
