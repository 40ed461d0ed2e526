/**
 * Issue 4 end to end: a keystore made like oVirt's engine.p12 (openssl, no -name => Java alias "1")
 * is exported with `export-cert`, then `serve` runs with the exported PEM pair and, separately,
 * straight from the keystore; a TLS client sees that certificate both times.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { makePemPair, opensslP12, tempDir, type PemPair } from "../helpers/keystores.ts";
import { startProxy, runCli } from "../helpers/proxy.ts";

let tmp: { dir: string; cleanup: () => void };
let pair: PemPair;
let p12: string;

beforeAll(() => {
  tmp = tempDir("novnc-serve-ks-");
  pair = makePemPair(tmp.dir, "websocket-proxy", { cn: "proxy.engine.test" });
  p12 = opensslP12(join(tmp.dir, "websocket-proxy.p12"), pair, { password: "mypass" });
});

afterAll(() => tmp.cleanup());

/** The SHA-256 fingerprint of the certificate a TLS client is shown on 127.0.0.1:port. */
function servedFingerprint(port: number): string {
  const p = Bun.spawnSync(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost"], {
    stdin: new TextEncoder().encode(""),
    timeout: 10_000,
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(p.stdout.toString());
  expect(pem).not.toBeNull();
  return new X509Certificate(pem![0]).fingerprint256;
}

const expected = () => new X509Certificate(readFileSync(pair.cert)).fingerprint256;

test("serve runs with the PEM pair export-cert wrote from an oVirt-style keystore", async () => {
  const cert = join(tmp.dir, "out.cer");
  const key = join(tmp.dir, "out.key.nopass");
  const r = await runCli(["export-cert", "--keystore", p12, "--alias", "1", "--cert-out", cert, "--key-out", key]);
  expect(r.code).toBe(0);
  const p = await startProxy(["serve", "--listen", "127.0.0.1:0", "--cert", cert, "--key", key, "--allow-unsigned"]);
  try {
    expect(servedFingerprint(p.port)).toBe(expected());
    expect(p.output()).not.toMatch(/readable by group/);
  } finally {
    await p.stop();
  }
});

test("serve --keystore takes the key straight from the keystore (default password mypass)", async () => {
  const p = await startProxy(["serve", "--listen", "127.0.0.1:0", "--keystore", p12, "--allow-unsigned"]);
  try {
    expect(servedFingerprint(p.port)).toBe(expected());
    expect(p.output()).toContain("proxy.engine.test");
  } finally {
    await p.stop();
  }
});

test("serve --keystore with a wrong password stops with one line and exit 2", async () => {
  const r = await runCli(["serve", "--listen", "127.0.0.1:0", "--keystore", p12, "--password", "nope", "--allow-unsigned"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/password/i);
  expect(r.stderr).not.toContain("nope");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});
