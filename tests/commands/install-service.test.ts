/**
 * install-service into a temp tree (TMP/etc/systemd/system, TMP/usr/local/bin): the unit shipped in
 * assets/, the substitutions, --dry-run writing nothing, refusing to overwrite without --force,
 * `systemd-analyze verify` of what was written (when systemd-analyze exists), and the compiled
 * binary embedding the unit and copying itself.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_BIN,
  installService,
  nextSteps,
  parseInstallServiceArgs,
  renderUnit,
  UNIT_TEMPLATE,
  type InstallServiceOptions,
} from "../../src/commands/install-service.ts";
import { ConfigError } from "../../src/errors.ts";
import { tempDir } from "../helpers/keystores.ts";
import { BINARY } from "../helpers/proxy.ts";

const SHIPPED = readFileSync(join(import.meta.dir, "../../assets/novnc-proxy.service"), "utf8");
const haveSystemdAnalyze = Bun.spawnSync(["sh", "-c", "command -v systemd-analyze"]).exitCode === 0;

let tmp: { dir: string; cleanup: () => void };
let fakeBinary: string;
let n = 0;

beforeAll(() => {
  tmp = tempDir("novnc-install-");
  fakeBinary = join(tmp.dir, "novnc-proxy-build");
  writeFileSync(fakeBinary, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
});

afterAll(() => tmp?.cleanup());

/** A fresh TMP/etc/systemd/system + TMP/usr/local/bin tree. */
function tree(): { root: string; unitDir: string; binDir: string; bin: string } {
  const root = join(tmp.dir, `root${++n}`);
  const unitDir = join(root, "etc/systemd/system");
  const binDir = join(root, "usr/local/bin");
  mkdirSync(unitDir, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  return { root, unitDir, binDir, bin: join(binDir, "novnc-proxy") };
}

function options(t: ReturnType<typeof tree>, extra: Record<string, unknown> = {}): InstallServiceOptions {
  return parseInstallServiceArgs({ "unit-dir": t.unitDir, bin: t.bin, ...extra }, fakeBinary);
}

/** `Key=value` lines of a unit that are not comments. */
const directives = (unit: string): string[] => unit.split("\n").filter((l) => /^[A-Za-z]+=/.test(l));

describe("the shipped unit", () => {
  test("is what the binary embeds", () => {
    expect(UNIT_TEMPLATE).toBe(SHIPPED);
  });

  test.each([
    "User=novnc-proxy",
    "ExecStart=/usr/local/bin/novnc-proxy serve",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "KillSignal=SIGTERM",
    "Restart=on-failure",
    "RestartPreventExitStatus=2",
    "LimitNOFILE=65536",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "ReadOnlyPaths=-/etc/pki/ovirt-engine -/etc/pki/vdsm -/etc/pki/novnc-proxy",
    "WantedBy=multi-user.target",
  ])("sets %s", (line) => {
    expect(directives(SHIPPED)).toContain(line);
  });

  test("does not set MemoryDenyWriteExecute (the JavaScript JIT needs W+X memory) and says why", () => {
    expect(directives(SHIPPED).some((l) => l.startsWith("MemoryDenyWriteExecute"))).toBe(false);
    expect(SHIPPED).toMatch(/^# MemoryDenyWriteExecute= is deliberately NOT set.*\n#.*JIT/m);
  });

  test("never runs as root and gives systemd more time to stop than the default drain timeout (30 s)", () => {
    expect(directives(SHIPPED).filter((l) => l.startsWith("User="))).toEqual(["User=novnc-proxy"]);
    const stop = directives(SHIPPED).find((l) => l.startsWith("TimeoutStopSec="));
    expect(Number(stop?.split("=")[1])).toBeGreaterThan(30);
  });
});

describe("renderUnit", () => {
  test("substitutes user, binary and config file and leaves every other line alone", () => {
    const unit = renderUnit({ user: "ovirt", bin: "/opt/bin/novnc-proxy", configFile: "/etc/ovirt-engine/ovirt-websocket-proxy.conf" });
    expect(directives(unit)).toContain("User=ovirt");
    expect(directives(unit)).toContain("ExecStart=/opt/bin/novnc-proxy serve --config /etc/ovirt-engine/ovirt-websocket-proxy.conf");
    const before = SHIPPED.split("\n");
    const after = unit.split("\n");
    expect(after.length).toBe(before.length);
    expect(after.filter((l, i) => l !== before[i])).toEqual([
      "User=ovirt",
      "ExecStart=/opt/bin/novnc-proxy serve --config /etc/ovirt-engine/ovirt-websocket-proxy.conf",
    ]);
  });

  test("without a config file, serve runs with no flags (it reads oVirt's file when present)", () => {
    expect(directives(renderUnit({ user: "novnc-proxy", bin: DEFAULT_BIN }))).toContain(`ExecStart=${DEFAULT_BIN} serve`);
  });

  test("a template without exactly one User= line is a bug, not a silent no-op", () => {
    expect(() => renderUnit({ user: "x", bin: "/b" }, "[Service]\nExecStart=/b\n")).toThrow(/User=/);
  });
});

describe("parseInstallServiceArgs", () => {
  test("defaults: user novnc-proxy, /etc/systemd/system, /usr/local/bin/novnc-proxy, no config", () => {
    expect(parseInstallServiceArgs({}, fakeBinary)).toEqual({
      user: "novnc-proxy",
      unitDir: "/etc/systemd/system",
      bin: "/usr/local/bin/novnc-proxy",
      source: fakeBinary,
      dryRun: false,
      force: false,
    });
  });

  test("a relative --config becomes absolute (systemd runs the service from /)", () => {
    expect(parseInstallServiceArgs({ config: "conf/proxy.conf" }, fakeBinary).configFile).toBe(join(process.cwd(), "conf/proxy.conf"));
  });

  test.each([
    ["root", /unprivileged/],
    ["nobody", /account of its own/],
    ["ro ot", /not a valid user name/],
    ["-oops", /not a valid user name/],
    ["$(id)", /not a valid user name/],
    ["a\nUser=root", /not a valid user name/],
    ["Admin", /not a valid user name/],
    ["x".repeat(40), /not a valid user name/],
  ])("refuses --user %j", (user, re) => {
    expect(() => parseInstallServiceArgs({ user }, fakeBinary)).toThrow(ConfigError);
    expect(() => parseInstallServiceArgs({ user }, fakeBinary)).toThrow(re);
  });

  test.each([
    ["--config", "/etc/novnc proxy.conf"],
    ["--config", "/etc/%h.conf"],
    ["--config", "/etc/$HOME.conf"],
    ["--config", '/etc/"x".conf'],
    ["--config", "/etc/x.conf\nExecStartPre=/bin/sh"],
    ["--bin", "/usr/local/bin/novnc proxy"],
  ])("refuses %s %j, which systemd would split or expand, in one line", (flag, value) => {
    expect(() => parseInstallServiceArgs({ [flag.slice(2)]: value }, fakeBinary)).toThrow(ConfigError);
    expect(() => parseInstallServiceArgs({ [flag.slice(2)]: value }, fakeBinary)).toThrow(/^[^\n]*use a plain path$/);
  });

  test("run from source (not the compiled binary) it refuses to install bun itself", () => {
    expect(() => parseInstallServiceArgs({}, null)).toThrow(/compiled binary/);
  });
});

describe("installService", () => {
  test("copies the binary (0755) and writes the unit (0644) with the substitutions", () => {
    const t = tree();
    const o = options(t, { user: "vdsm", config: "/etc/novnc-proxy/novnc-proxy.conf" });
    const r = installService(o);
    expect(r).toMatchObject({ unitPath: join(t.unitDir, "novnc-proxy.service"), copiedBinary: true, written: true });
    expect(readFileSync(t.bin, "utf8")).toBe(readFileSync(fakeBinary, "utf8"));
    expect(statSync(t.bin).mode & 0o777).toBe(0o755);
    expect(statSync(r.unitPath).mode & 0o777).toBe(0o644);
    const unit = readFileSync(r.unitPath, "utf8");
    expect(directives(unit)).toContain("User=vdsm");
    expect(directives(unit)).toContain(`ExecStart=${t.bin} serve --config /etc/novnc-proxy/novnc-proxy.conf`);
    expect(readdirSync(t.unitDir)).toEqual(["novnc-proxy.service"]); // no temp files left behind
  });

  test("--dry-run writes nothing but returns the unit it would write", () => {
    const t = tree();
    const r = installService(options(t, { "dry-run": true, user: "ovirt" }));
    expect(r.written).toBe(false);
    expect(directives(r.unit)).toContain("User=ovirt");
    expect(readdirSync(t.unitDir)).toEqual([]);
    expect(readdirSync(t.binDir)).toEqual([]);
  });

  test("refuses to overwrite an existing unit without --force and leaves both files as they were", () => {
    const t = tree();
    writeFileSync(join(t.unitDir, "novnc-proxy.service"), "# mine\n");
    expect(() => installService(options(t))).toThrow(/file exists \(use --force to overwrite\)/);
    expect(readFileSync(join(t.unitDir, "novnc-proxy.service"), "utf8")).toBe("# mine\n");
    expect(existsSync(t.bin)).toBe(false);
  });

  test("refuses to overwrite an existing binary without --force; --force replaces both", () => {
    const t = tree();
    writeFileSync(t.bin, "old");
    expect(() => installService(options(t))).toThrow(ConfigError);
    expect(readFileSync(t.bin, "utf8")).toBe("old");
    expect(readdirSync(t.unitDir)).toEqual([]);
    installService(options(t, { force: true }));
    expect(readFileSync(t.bin, "utf8")).toBe(readFileSync(fakeBinary, "utf8"));
    installService(options(t, { force: true, user: "ovirt" }));
    expect(directives(readFileSync(join(t.unitDir, "novnc-proxy.service"), "utf8"))).toContain("User=ovirt");
  });

  test("run from the installed binary itself, it only writes the unit", () => {
    const t = tree();
    writeFileSync(t.bin, "#!/bin/sh\n", { mode: 0o755 });
    const r = installService(parseInstallServiceArgs({ "unit-dir": t.unitDir, bin: t.bin }, t.bin));
    expect(r.copiedBinary).toBe(false);
    expect(readFileSync(t.bin, "utf8")).toBe("#!/bin/sh\n");
  });

  test("a missing --unit-dir is a ConfigError naming it", () => {
    const t = tree();
    expect(() => installService(options(t, { "unit-dir": join(t.root, "nope") }))).toThrow(`--unit-dir ${join(t.root, "nope")}: no such folder`);
  });

  test.skipIf(!haveSystemdAnalyze)("systemd-analyze verify accepts the written unit", () => {
    const t = tree();
    const r = installService(options(t, { user: "ovirt", config: "/etc/novnc-proxy/novnc-proxy.conf" }));
    const v = Bun.spawnSync(["systemd-analyze", "verify", r.unitPath], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    expect(v.stderr.toString()).toBe("");
    expect(v.exitCode).toBe(0);
  });
});

describe("nextSteps", () => {
  test("checks the config as the service user, then the systemctl line; never runs it", () => {
    const o = { user: "ovirt", bin: DEFAULT_BIN, configFile: "/etc/ovirt-engine/ovirt-websocket-proxy.conf" };
    expect(nextSteps(o, { userExists: true, ovirtProxyInstalled: true })).toEqual([
      "runuser -u ovirt -- /usr/local/bin/novnc-proxy check-config --config /etc/ovirt-engine/ovirt-websocket-proxy.conf",
      "systemctl disable --now ovirt-websocket-proxy",
      "systemctl daemon-reload && systemctl enable --now novnc-proxy",
    ]);
  });

  test("suggests creating a missing user", () => {
    expect(nextSteps({ user: "novnc-proxy", bin: DEFAULT_BIN }, { userExists: false })[0]).toBe(
      "useradd --system --no-create-home --shell /sbin/nologin novnc-proxy",
    );
  });
});

describe("the compiled binary", () => {
  // The shipped binary, built by `npm test` before the tests.
  const binary = BINARY;

  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    // cwd elsewhere: the unit must come from inside the binary, not from assets/ on disk.
    const p = Bun.spawn([binary, ...args], { cwd: tmp.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  test("embeds the unit, copies itself, and prints the systemctl line instead of running it", async () => {
    const t = tree();
    const base = ["install-service", "--unit-dir", t.unitDir, "--bin", t.bin, "--user", "ovirt", "--config", "/etc/ovirt-engine/ovirt-websocket-proxy.conf"];
    const dry = await cli([...base, "--dry-run"]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    const expected = renderUnit({ user: "ovirt", bin: t.bin, configFile: "/etc/ovirt-engine/ovirt-websocket-proxy.conf" });
    expect(dry.stdout).toContain(expected.trimEnd());
    expect(readdirSync(t.unitDir)).toEqual([]);
    expect(readdirSync(t.binDir)).toEqual([]);

    const real = await cli(base);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain("  systemctl daemon-reload && systemctl enable --now novnc-proxy\n");
    expect(readFileSync(join(t.unitDir, "novnc-proxy.service"), "utf8")).toBe(expected);
    expect(statSync(t.bin).size).toBe(statSync(binary).size);

    const again = await cli(base);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`novnc-proxy: --bin ${t.bin}: file exists (use --force to overwrite)\n`);
  });
});
