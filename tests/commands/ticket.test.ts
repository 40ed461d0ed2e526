import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseInspectArgs, parseMintArgs } from "../../src/commands/ticket.ts";
import { ConfigError } from "../../src/errors.ts";
import { ticketHash } from "../../src/ticket/hash.ts";
import { signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys, removeEngineKeys, writeEngineKeyFiles, type EngineKeys } from "../helpers/engine-keys.ts";

const CLI = join(import.meta.dir, "../../src/cli.ts");
const running = new Set<number>();

let engine: EngineKeys;
let other: EngineKeys;

beforeAll(() => {
  engine = makeEngineKeys("engine.test");
  other = makeEngineKeys("other.test");
});

afterAll(() => {
  for (const pid of running) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  removeEngineKeys(engine);
  removeEngineKeys(other);
});

/** Runs `bun src/cli.ts ticket ...` and collects its exit code and output (killed after 20 s). */
async function cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, CLI, "ticket", ...args], {
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  running.add(child.pid);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  running.delete(child.pid);
  return { code, stdout, stderr };
}

const mintArgs = (extra: string[] = []) => ["--key", engine.keyFile, "--cert", engine.certFile, "--host", "192.168.1.10", "--port", "5901", ...extra];

describe("novnc-proxy ticket (mint) and ticket inspect", () => {
  test("a minted ticket inspects as valid against the engine certificate, exit 0", async () => {
    const minted = await cli(mintArgs(["--ssl-target"]));
    expect(minted.code).toBe(0);
    const ticket = minted.stdout.trim();
    expect(ticket).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);

    const inspected = await cli(["inspect", ticket, "--engine-cert", engine.certFile]);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toMatch(/^host +192\.168\.1\.10$/m);
    expect(inspected.stdout).toMatch(/^port +5901$/m);
    expect(inspected.stdout).toMatch(/^ssl_target +true$/m);
    expect(inspected.stdout).toMatch(/^signedFields +salt,data,validFrom,validTo \(java order\)$/m);
    expect(inspected.stdout).toMatch(/^validFrom +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    expect(inspected.stdout).toMatch(/^time +1[12]\d s left$/m);
    expect(inspected.stdout).toContain(`ticket hash   ${ticketHash(ticket)}`);
    expect(inspected.stdout).toMatch(/^verdict +valid$/m);
  });

  test("inspect prints nothing secret: not the ticket, its signature or salt", async () => {
    const ticket = (await cli(mintArgs())).stdout.trim();
    const fields = JSON.parse(Buffer.from(ticket, "base64").toString("utf8"));
    const inspected = await cli(["inspect", ticket, "--engine-cert", engine.certFile]);
    const all = inspected.stdout + inspected.stderr;
    expect(all).not.toContain(ticket);
    expect(all).not.toContain(fields.v2_signature);
    expect(all).not.toContain(fields.salt);
  });

  test("the Python order round-trips and is shown", async () => {
    const ticket = (await cli(mintArgs(["--order", "python", "--lifetime", "600"]))).stdout.trim();
    const inspected = await cli(["inspect", ticket, "--engine-cert", engine.certFile]);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain("salt,validFrom,validTo,data (python order)");
  });

  test("a ticket checked against another engine's certificate is invalid, exit 1", async () => {
    const ticket = (await cli(mintArgs())).stdout.trim();
    const inspected = await cli(["inspect", ticket, "--engine-cert", other.certFile]);
    expect(inspected.code).toBe(1);
    expect(inspected.stdout).toMatch(/^verdict +invalid: bad signature$/m);
    expect(inspected.stderr).toContain("bad signature");
    expect(inspected.stderr).not.toContain(ticket);
  });

  test("without --engine-cert a well-formed ticket decodes, exit 0, and says the signature was not checked", async () => {
    const ticket = signTicket({ keyPem: other.keyPem, certPem: other.certPem, host: "h.example", port: 5900 });
    const inspected = await cli(["inspect", ticket]);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toContain("signature not checked");
  });

  test("an expired ticket is invalid with the reason, exit 1", async () => {
    const ticket = signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host: "h", port: 5900, now: new Date("2020-01-01T00:00:00Z") });
    const inspected = await cli(["inspect", ticket, "--engine-cert", engine.certFile]);
    expect(inspected.code).toBe(1);
    expect(inspected.stdout).toMatch(/^time +expired \d+ s ago$/m);
    expect(inspected.stdout).toMatch(/^verdict +invalid: ticket expired$/m);
  });

  test("a malformed ticket is invalid, exit 1, with the decode reason", async () => {
    const inspected = await cli(["inspect", "not-a-ticket!"]);
    expect(inspected.code).toBe(1);
    expect(inspected.stdout).toMatch(/^verdict +invalid: malformed ticket: not base64$/m);
  });

  test("inspect reads the ticket from stdin with -, and unwraps a wss:// URL or percent-encoding", async () => {
    const ticket = (await cli(mintArgs())).stdout.trim();
    const fromStdin = await cli(["inspect", "-", "--engine-cert", engine.certFile], ticket + "\n");
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toMatch(/^verdict +valid$/m);
    const fromUrl = await cli(["inspect", `wss://proxy.example:6100/${encodeURIComponent(ticket)}`, "--engine-cert", engine.certFile]);
    expect(fromUrl.code).toBe(0);
    expect(fromUrl.stdout).toContain(`ticket hash   ${ticketHash(ticket)}`);
  });

  test("mints and verifies with the files engine-setup writes (Bag Attributes key, text-dump certificate)", async () => {
    // Every accepted shape is unit-tested in tests/tls/engine-key.test.ts; this shows `ticket` reads them.
    const files = writeEngineKeyFiles(engine);
    const minted = await cli(["--key", files.keyWithBagAttributes, "--cert", files.certWithText, "--host", "h", "--port", "5900"]);
    expect(minted.code).toBe(0);
    expect((await cli(["inspect", minted.stdout.trim(), "--engine-cert", files.publicKey])).code).toBe(0);
  });
});

describe("novnc-proxy ticket refuses bad input with one line naming the file, exit 2", () => {
  test("a missing key file", async () => {
    const missing = join(engine.dir, "nope.pem");
    const r = await cli(["--key", missing, "--cert", engine.certFile, "--host", "h", "--port", "5900"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([`novnc-proxy: engine key ${missing}: no such file`]);
  });

  test("a certificate that does not match the key", async () => {
    const r = await cli(["--key", engine.keyFile, "--cert", other.certFile, "--host", "h", "--port", "5900"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`novnc-proxy: engine certificate ${other.certFile}: does not match the key in ${engine.keyFile}`);
  });

  test("an unreadable engine certificate for inspect", async () => {
    const r = await cli(["inspect", "eyJ9", "--engine-cert", engine.keyFile]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`novnc-proxy: engine certificate ${engine.keyFile}: no certificate in file`);
  });

  test("a bad port", async () => {
    const r = await cli(["--key", engine.keyFile, "--cert", engine.certFile, "--host", "h", "--port", "70000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port must be a whole number from 1 to 65535");
  });
});

describe("parseMintArgs and parseInspectArgs", () => {
  const good = { key: "k.pem", cert: "c.pem", host: "10.0.0.5", port: "5900" };

  test("fill in the engine's defaults", () => {
    expect(parseMintArgs(good)).toEqual({
      keyFile: "k.pem",
      certFile: "c.pem",
      host: "10.0.0.5",
      port: 5900,
      sslTarget: false,
      viewOnly: false,
      lifetimeSeconds: 120,
      order: "java",
    });
    expect(parseInspectArgs({ ticket: "x" })).toEqual({ ticket: "x", engineCertFile: null, skewSeconds: 5 });
  });

  test.each([
    ["no key", { ...good, key: undefined }, "missing --key"],
    ["no cert", { ...good, cert: undefined }, "missing --cert"],
    ["no host", { ...good, host: undefined }, "missing --host"],
    ["a host with a space", { ...good, host: "a b" }, "--host"],
    ["no port", { ...good, port: undefined }, "missing --port"],
    ["port zero", { ...good, port: "0" }, "--port"],
    ["a non-numeric port", { ...good, port: "vnc" }, "--port"],
    ["a negative lifetime", { ...good, lifetime: "-5" }, "--lifetime"],
    ["a zero lifetime", { ...good, lifetime: "0" }, "--lifetime"],
    ["an unknown order", { ...good, order: "perl" }, "--order"],
  ])("refuse %s", (_name, args, message) => {
    expect(() => parseMintArgs(args)).toThrow(ConfigError);
    expect(() => parseMintArgs(args)).toThrow(message);
  });

  test("refuse a bad clock skew", () => {
    expect(() => parseInspectArgs({ ticket: "x", "clock-skew": "-1" })).toThrow("--clock-skew");
    expect(parseInspectArgs({ ticket: "x", "clock-skew": "0" }).skewSeconds).toBe(0);
  });
});
