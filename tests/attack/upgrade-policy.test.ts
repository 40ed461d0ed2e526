/**
 * Attacks on the upgrade decision, through the real binary (security.md rows "Open relay /
 * SSRF", "Allowlist bypass by address spelling", "DNS rebinding toward the target", "Ticket
 * replay", "Cross-site websocket hijacking", "Header spoofing"). Every refusal must be an HTTP
 * status before any websocket exists; a control in each table proves the proxy would have
 * accepted the canonical form, so a 403 means the spelling was refused, not the target.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import type { TCPSocketListener } from "bun";
import { makeEngineKeys, removeEngineKeys, type EngineKeys } from "../helpers/engine-keys.ts";
import { serveArgs, startProxy, type ProxyProcess } from "../helpers/proxy.ts";
import { RawWsClient, upgradeStatus } from "../helpers/raw-ws.ts";
import { listenSilent } from "../helpers/targets.ts";
import { encodeTicket, formatStamp, pssSign, signTicket } from "../../src/ticket/sign.ts";
import { decideUpgrade } from "../../src/server/upgrade.ts";
import { compileAllowlist } from "../../src/policy/allowlist.ts";
import { compileOriginCheck } from "../../src/policy/origin.ts";
import type { ServerConfig } from "../../src/server/config.ts";

let engine: EngineKeys;
let tls: EngineKeys;
let proxy: ProxyProcess;
let unsigned: ProxyProcess;
let target: TCPSocketListener<undefined>;
const used: string[] = [];

/** A genuinely signed ticket; hosts signTicket refuses (blanks, non-ASCII) are signed by hand. */
function ticket(host: string, port: number, extra: { lifetimeSeconds?: number; now?: Date } = {}): string {
  let t: string;
  if (/^[\x21-\x7e]+$/.test(host)) {
    t = signTicket({ keyPem: engine.keyPem, certPem: engine.certPem, host, port, ...extra });
  } else {
    const now = new Date();
    const values = {
      salt: Buffer.from("12345678").toString("base64"),
      data: encodeURIComponent(JSON.stringify({ host, port: String(port), ssl_target: false })),
      validFrom: formatStamp(now),
      validTo: formatStamp(new Date(now.getTime() + 120_000)),
    };
    const message = values.salt + values.data + values.validFrom + values.validTo;
    t = encodeTicket({ ...values, signedFields: "salt,data,validFrom,validTo", v2_signature: pssSign(message, createPrivateKey(engine.keyPem)) });
  }
  used.push(t);
  return t;
}

beforeAll(async () => {
  engine = makeEngineKeys("engine.test");
  tls = makeEngineKeys("proxy.test");
  // A VNC-ish target that accepts and stays quiet; only reachable through its canonical spelling.
  target = listenSilent();
  // Every refusal line is asserted on: no per-client rate limit on them here.
  const logAll = ["--refusal-log-limit", "0"];
  [proxy, unsigned] = await Promise.all([
    startProxy([
      ...serveArgs({ engine, tls }, ...logAll),
      "--allow", "10.0.0.0/8",
      "--allow", `127.0.0.1:${target.port}`,
      "--allow", "no-such-host.invalid",
      "--engine-origin", "https://engine.example",
      "--origin", "https://portal.example:8443",
    ]),
    // Unsigned targets, default allowlist (any unicast, 5900-6923): only the policy guards.
    startProxy(["serve", "--listen", "127.0.0.1:0", "--cert", tls.certFile, "--key", tls.keyFile, "--allow-unsigned", ...logAll]),
  ]);
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), unsigned?.stop()]);
  target?.stop(true);
  for (const k of [engine, tls]) if (k) removeEngineKeys(k);
});

/** Output the process printed after offset `from`, once it matches `re` (or throws after 5 s). */
async function printedAfter(p: ProxyProcess, from: number, re: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const text = p.output().slice(from);
    if (re.test(text)) return text;
    await Bun.sleep(20);
  }
  throw new Error(`no ${re} in: ${p.output().slice(from)}`);
}

describe("allowlist bypass by address spelling, through the binary", () => {
  test("control: the canonical spelling of the allowed target is upgraded", async () => {
    expect((await upgradeStatus(proxy.port, `/${ticket("127.0.0.1", target.port)}`)).status).toBe(101);
  });

  // Each names 127.0.0.1 (allowed on target.port) or a forbidden class, spelled non-canonically.
  const spellings: [string, string][] = [
    ["decimal", "2130706433"],
    ["hex dword", "0x7f000001"],
    ["hex short", "0x7f.1"],
    ["octal", "0177.0.0.1"],
    ["octal dword", "017700000001"],
    ["short form", "127.1"],
    ["short form, three parts", "127.0.1"],
    ["leading zeros", "127.000.000.001"],
    ["trailing dot", "127.0.0.1."],
    ["IPv4-mapped IPv6", "::ffff:127.0.0.1"],
    ["IPv4-mapped IPv6, hex", "::ffff:7f00:1"],
    ["IPv4-mapped IPv6, upper case", "::FFFF:127.0.0.1"],
    ["IPv4-compatible IPv6", "::127.0.0.1"],
    ["IPv4-translated (NAT64)", "64:ff9b::127.0.0.1"],
    ["bracketed IPv4", "[127.0.0.1]"],
    ["bracketed IPv6", "[::1]"],
    ["zone id", "fe80::1%lo"],
    ["zone id on loopback", "::1%lo"],
    ["blank around", " 127.0.0.1"],
    ["tab inside", "127.0.0.1\t"],
    ["upper-case name", "LOCALHOST"],
    ["trailing-dot name", "localhost."],
    ["unspecified IPv4", "0.0.0.0"],
    ["unspecified short", "0"],
    ["unspecified IPv6", "::"],
    ["bracketed unspecified IPv6", "[::]"],
    ["cloud metadata (link-local)", "169.254.169.254"],
    ["IPv6 link-local", "fe80::1"],
    ["multicast", "224.0.0.1"],
    ["IPv6 multicast", "ff02::1"],
    ["broadcast", "255.255.255.255"],
    ["reserved", "240.0.0.1"],
    ["userinfo trick", "10.0.0.1@127.0.0.1"],
    ["port smuggling", "127.0.0.1:22"],
    ["percent-encoded", "127%2e0%2e0%2e1"],
    ["unicode digits", "\uff11\uff12\uff17.0.0.1"],
  ];
  test("the table has at least 20 spellings", () => {
    expect(spellings.length).toBeGreaterThanOrEqual(20);
  });

  test.each(spellings)("%s (%s) is refused 403 before any upgrade", async (_name, host) => {
    const r = await upgradeStatus(proxy.port, `/${ticket(host, target.port)}`);
    expect(r.status).toBe(403);
    expect(r.body.length).toBeGreaterThan(0);
  });

  test("a host name that resolves (through the real resolver) to an address outside the allowlist is refused; only the log names the checked address", async () => {
    // localhost -> 127.0.0.1 from /etc/hosts; only 127.0.0.1:<target.port> is allowed, not 5900.
    const r = await upgradeStatus(proxy.port, `/${ticket("localhost", 5900)}`);
    expect(r.status).toBe(403);
    expect(r.body).toBe("target not allowed\n");
    await proxy.waitFor(/refused 403 .*: target not allowed \(.*(127\.0\.0\.1|::1)/);
  });

  test("a name the resolver cannot resolve is refused 403 with the same generic reason, even when the name is allowed", async () => {
    const r = await upgradeStatus(proxy.port, `/${ticket("no-such-host.invalid", 5900)}`);
    expect(r.status).toBe(403);
    expect(r.body).toBe("target not allowed\n");
    await proxy.waitFor(/target not allowed \(cannot resolve target host\)/);
  });

  test("a port outside the rule is refused even for the allowed address", async () => {
    expect((await upgradeStatus(proxy.port, `/${ticket("127.0.0.1", target.port + 1 > 65535 ? 1 : target.port + 1)}`)).status).toBe(403);
  });
});

describe("DNS rebinding: the name is resolved once and the checked address is the one returned", () => {
  const config = {
    engineKey: null,
    allowUnsigned: true,
    allowlist: compileAllowlist(["10.0.0.0/8"]),
    clockSkewSeconds: 5,
  } as unknown as ServerConfig;
  const allowAll = compileOriginCheck([]);

  test("a resolver that answers an allowed address first and loopback next is asked once; the allowed address is used", async () => {
    let calls = 0;
    const rebinding = async () => (calls++ === 0 ? [{ address: "10.1.2.3", family: 4 as const }] : [{ address: "127.0.0.1", family: 4 as const }]);
    const req = new Request("https://proxy.test/", { headers: { cookie: "novnc-target=rebind.example:5900" } });
    const d = await decideUpgrade(req, config, allowAll, new Date(), rebinding);
    expect(d.ok).toBe(true);
    if (d.ok) expect(d.target.address).toBe("10.1.2.3");
    expect(calls).toBe(1);
  });

  test("a name answering an allowed and a forbidden address at once is refused", async () => {
    const mixed = async () => [
      { address: "10.1.2.3", family: 4 as const },
      { address: "169.254.169.254", family: 4 as const },
    ];
    const req = new Request("https://proxy.test/", { headers: { cookie: "novnc-target=rebind.example:5900" } });
    const d = await decideUpgrade(req, config, allowAll, new Date(), mixed);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.status).toBe(403);
  });
});

describe("open relay / SSRF with unsigned targets allowed (default allowlist)", () => {
  test.each([
    ["cloud metadata", "169.254.169.254:5900"],
    ["IPv6 link-local", "[fe80::1]:5900"],
    ["unspecified", "0.0.0.0:5900"],
    ["multicast", "224.0.0.1:5900"],
    ["broadcast", "255.255.255.255:5900"],
    ["IPv4-mapped loopback", "[::ffff:127.0.0.1]:5900"],
    ["decimal loopback", "2130706433:5900"],
    ["ssh port", "127.0.0.1:22"],
    ["port 0", "127.0.0.1:0"],
    ["no port", "127.0.0.1"],
    ["two targets", "127.0.0.1:5900,10.0.0.1:5900"],
    ["CRLF injection", "127.0.0.1:5900%0d%0aX-Evil:%201"],
  ])("a novnc-target cookie naming %s (%s) is refused 403", async (_name, value) => {
    const r = await upgradeStatus(unsigned.port, "/", { Cookie: `novnc-target=${value}` });
    expect(r.status).toBe(403);
  });

  test("a signed ticket is refused when the proxy has no engine certificate", async () => {
    expect((await upgradeStatus(unsigned.port, `/${ticket("127.0.0.1", 5900)}`)).status).toBe(403);
  });
});

describe("ticket replay and time", () => {
  test("an expired ticket is refused 403 'expired'", async () => {
    const t = ticket("127.0.0.1", target.port, { now: new Date(Date.now() - 3_600_000) });
    const r = await upgradeStatus(proxy.port, `/${t}`);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/expired/);
  });

  test("a ticket from the future (beyond the skew) is refused 403", async () => {
    const t = ticket("127.0.0.1", target.port, { now: new Date(Date.now() + 600_000) });
    expect((await upgradeStatus(proxy.port, `/${t}`)).status).toBe(403);
  });

  test("a ticket without any signature is refused 403", async () => {
    const f = JSON.parse(Buffer.from(ticket("127.0.0.1", target.port), "base64").toString("utf8"));
    delete f.v2_signature;
    expect((await upgradeStatus(proxy.port, `/${Buffer.from(JSON.stringify(f)).toString("base64")}`)).status).toBe(403);
  });

  test("with --single-use a ticket opens one session; its second use is refused 403 even after that session ended", async () => {
    const p = await startProxy(serveArgs({ engine, tls }, "--allow", `127.0.0.1:${target.port}`, "--single-use"));
    try {
      const t = ticket("127.0.0.1", target.port);
      const first = await RawWsClient.connect(p.port, `/${t}`);
      expect(first.reply.status).toBe(101);
      first.close();
      await Bun.sleep(200);
      const again = await upgradeStatus(p.port, `/${t}`);
      expect(again.status).toBe(403);
      expect(again.body).toContain("already used");
      expect((await upgradeStatus(p.port, `/${ticket("127.0.0.1", target.port)}`)).status).toBe(101);
      expect(p.output()).not.toContain(t.slice(0, 24));
    } finally {
      await p.stop();
    }
  });

  test("with --single-use a ticket replayed between validTo and validTo + skew (still verifying) is refused 403", async () => {
    const p = await startProxy(serveArgs({ engine, tls }, "--allow", `127.0.0.1:${target.port}`, "--single-use", "--clock-skew", "60"));
    try {
      // validTo is already 1-2 s past; the 60 s skew still accepts the ticket.
      const t = ticket("127.0.0.1", target.port, { now: new Date(Date.now() - 62_000), lifetimeSeconds: 60 });
      const first = await RawWsClient.connect(p.port, `/${t}`);
      expect(first.reply.status).toBe(101);
      first.close();
      await p.waitFor(/close s/);
      const again = await upgradeStatus(p.port, `/${t}`);
      expect(again.status).toBe(403);
      expect(again.body).toBe("ticket already used\n");
    } finally {
      await p.stop();
    }
  });
});

describe("cross-site websocket hijacking", () => {
  test.each([
    ["a foreign site", "https://evil.example"],
    ["a sandboxed frame or file: page", "null"],
    ["the engine's name as a prefix of another site", "https://engine.example.evil.example"],
    ["the engine's name as a suffix", "https://evilengine.example"],
    ["the engine over plain http", "http://engine.example"],
    ["the engine on another port", "https://engine.example:8443"],
    ["a configured origin on its default port instead of 8443", "https://portal.example"],
    ["userinfo", "https://engine.example@evil.example"],
    ["a path", "https://engine.example/ovirt-engine"],
    ["two origins in one header", "https://evil.example, https://engine.example"],
    ["the proxy's own host over http", "http://127.0.0.1:PORT"],
    ["the proxy's host on another port", "https://127.0.0.1:1"],
    ["a non-ASCII look-alike", "https://engine.examp\u0142e"],
  ])("%s (%s) is refused 403", async (_name, origin) => {
    const r = await upgradeStatus(proxy.port, `/${ticket("127.0.0.1", target.port)}`, { Origin: origin.replace("PORT", String(proxy.port)) });
    expect(r.status).toBe(403);
  });

  test.each([
    ["the proxy's own origin", "https://127.0.0.1:PORT"],
    ["a configured engine origin (--engine-origin)", "https://engine.example"],
    ["a configured engine origin with its default port spelled out", "https://engine.example:443"],
    ["a configured extra origin (--origin)", "https://portal.example:8443"],
    ["no Origin at all (a non-browser client, allowed without --require-origin)", ""],
  ])("%s is accepted", async (_name, origin) => {
    const r = await upgradeStatus(proxy.port, `/${ticket("127.0.0.1", target.port)}`, { Origin: origin.replace("PORT", String(proxy.port)) });
    expect(r.status).toBe(101);
  });

  test("a foreign origin is refused before the ticket is even looked at (no ticket hash logged)", async () => {
    const marker = ticket("127.0.0.1", target.port);
    const before = proxy.output().length;
    await upgradeStatus(proxy.port, `/${marker}`, { Origin: "https://evil.example" });
    const line = await printedAfter(proxy, before, /refused 403 .*Origin/);
    expect(line).toContain("Origin");
    expect(line).not.toContain(marker.slice(0, 24));
  });
});

describe("header spoofing", () => {
  test("X-Forwarded-For from a client that is not a configured trusted proxy is ignored in the log", async () => {
    const before = proxy.output().length;
    await upgradeStatus(proxy.port, "/", { "X-Forwarded-For": "10.9.8.7" });
    const lines = await printedAfter(proxy, before, /refused 401/);
    expect(lines).toContain("client=127.0.0.1");
    expect(lines).not.toContain("10.9.8.7");
  });
});

describe("secrets", () => {
  test("no ticket used in this file appears in the proxies' output", () => {
    const out = proxy.output() + unsigned.output();
    expect(used.length).toBeGreaterThan(30);
    for (const t of used) {
      expect(out.includes(t.slice(0, 24))).toBe(false);
      const sig = JSON.parse(Buffer.from(t, "base64").toString("utf8")).v2_signature as string;
      expect(out.includes(sig.slice(0, 24))).toBe(false);
    }
  });
});
