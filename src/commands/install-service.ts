/**
 * `novnc-proxy install-service`: copies this binary to --bin and writes the systemd unit from
 * assets/novnc-proxy.service (embedded in the binary) with the chosen user, binary path and config
 * file filled in. Refuses to overwrite without --force; --dry-run writes nothing. It never runs
 * systemctl: it prints the line to run next, so the operator decides when the service starts.
 */
import { defineCommand } from "citty";
import { chmodSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import unitTemplate from "../../assets/novnc-proxy.service" with { type: "text" };
import { ConfigError } from "../errors.ts";
import { printable } from "../printable.ts";
import { checkOutputPath, writeFileAtomic } from "../tls/write-key.ts";
import { applyCommonArgs, commonArgs } from "./_args.ts";

/** The unit's file name, and so the service name systemctl knows it by. */
export const UNIT_NAME = "novnc-proxy.service";
export const DEFAULT_USER = "novnc-proxy";
export const DEFAULT_UNIT_DIR = "/etc/systemd/system";
export const DEFAULT_BIN = "/usr/local/bin/novnc-proxy";

/** The unit as shipped in assets/ (embedded at build time). */
export const UNIT_TEMPLATE: string = unitTemplate;

export const installServiceArgs = {
  user: {
    type: "string",
    description: `Account the service runs as, never root (default ${DEFAULT_USER}; ovirt on an engine, vdsm on a host)`,
    valueHint: "name",
  },
  config: {
    type: "string",
    description: "Config file for `serve --config` (default: none, serve then reads /etc/ovirt-engine/ovirt-websocket-proxy.conf when present)",
    valueHint: "file",
  },
  "unit-dir": { type: "string", description: `Folder the unit is written to (default ${DEFAULT_UNIT_DIR})`, valueHint: "dir" },
  bin: { type: "string", description: `Where the binary is copied to (default ${DEFAULT_BIN})`, valueHint: "file" },
  "dry-run": { type: "boolean", description: "Print what would be written and do nothing" },
  force: { type: "boolean", description: "Overwrite an existing unit and binary" },
  ...commonArgs,
} as const;

/** What the flags ask for, validated; nothing read or written yet. */
export interface InstallServiceOptions {
  user: string;
  /** Absolute path of the config file for `serve --config`, if any. */
  configFile?: string;
  unitDir: string;
  /** Absolute path the binary is installed to (ExecStart). */
  bin: string;
  /** The binary to copy: the running compiled executable. */
  source: string;
  dryRun: boolean;
  force: boolean;
}

/** Login names as useradd accepts them (no dots, no leading digit or dash). */
const USER_SHAPE = /^[a-z_][a-z0-9_-]{0,30}\$?$/;
/** Path characters that need no quoting in ExecStart (systemd gives %, $, space, quotes, \ meaning). */
const PLAIN_PATH = /^[A-Za-z0-9._/+@:,=~-]+$/;


function plainAbsolutePath(value: string, flag: string): string {
  const abs = resolve(value);
  if (!PLAIN_PATH.test(abs)) {
    throw new ConfigError(`${flag} "${printable(abs, 80)}": contains characters systemd would interpret (space, %, $, quotes, \\); use a plain path`);
  }
  return abs;
}

/**
 * The running program when it is the compiled novnc-proxy binary, else null (`bun src/cli.ts`
 * runs the bun executable itself, which must not be installed as the service).
 */
export function compiledBinary(): string | null {
  return Bun.main.startsWith("/$bunfs/") ? process.execPath : null;
}

type Flags = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Flags -> options. `source` is the binary to copy (default: the running compiled binary). */
export function parseInstallServiceArgs(args: Flags, source: string | null = compiledBinary()): InstallServiceOptions {
  const user = str(args.user) ?? DEFAULT_USER;
  if (!USER_SHAPE.test(user)) throw new ConfigError(`--user "${printable(user, 80)}": not a valid user name`);
  if (user === "root") throw new ConfigError("--user root: the service must run as an unprivileged user");
  // systemd warns about it too: files and processes of nobody are shared with every other such service.
  if (user === "nobody") throw new ConfigError("--user nobody: give the service an account of its own (e.g. novnc-proxy)");
  if (!source) {
    throw new ConfigError("install-service copies the compiled binary: build it (bun scripts/build.ts) and run dist/novnc-proxy install-service");
  }
  const config = str(args.config);
  return {
    user,
    ...(config ? { configFile: plainAbsolutePath(config, "--config") } : {}),
    unitDir: resolve(str(args["unit-dir"]) ?? DEFAULT_UNIT_DIR),
    bin: plainAbsolutePath(str(args.bin) ?? DEFAULT_BIN, "--bin"),
    source: resolve(source),
    dryRun: Boolean(args["dry-run"]),
    force: Boolean(args.force),
  };
}

/** Replaces the one `KEY=...` line of the template; a template without exactly one is a bug. */
function replaceLine(text: string, key: string, line: string): string {
  const re = new RegExp(`^${key}=.*$`, "gm");
  const count = text.match(re)?.length ?? 0;
  if (count !== 1) throw new Error(`unit template has ${count} ${key}= lines, expected 1`);
  return text.replace(re, line);
}

/**
 * The unit text for these settings: `User=` and `ExecStart=` replaced, everything else as shipped.
 * Pure; `template` defaults to the embedded assets/novnc-proxy.service.
 */
export function renderUnit(opts: { user: string; bin: string; configFile?: string }, template: string = UNIT_TEMPLATE): string {
  let text = replaceLine(template, "User", `User=${opts.user}`);
  text = replaceLine(text, "ExecStart", `ExecStart=${opts.bin} serve${opts.configFile ? ` --config ${opts.configFile}` : ""}`);
  return text;
}

/** What the operator runs next, in order. */
export function nextSteps(o: Pick<InstallServiceOptions, "user" | "bin" | "configFile">, facts: { userExists?: boolean; ovirtProxyInstalled?: boolean } = {}): string[] {
  const steps: string[] = [];
  if (facts.userExists === false) steps.push(`useradd --system --no-create-home --shell /sbin/nologin ${o.user}`);
  steps.push(`runuser -u ${o.user} -- ${o.bin} check-config${o.configFile ? ` --config ${o.configFile}` : ""}`);
  if (facts.ovirtProxyInstalled) steps.push("systemctl disable --now ovirt-websocket-proxy");
  steps.push("systemctl daemon-reload && systemctl enable --now novnc-proxy");
  return steps;
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function checkDir(dir: string, flag: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ConfigError(`${flag} ${dir}: no such folder`);
  }
  if (!st.isDirectory()) throw new ConfigError(`${flag} ${dir}: not a folder`);
}

/** What `installService` did (or, with --dry-run, would do). */
export interface InstallResult {
  unitPath: string;
  unit: string;
  /** False when the binary already is at --bin (install-service run from there). */
  copiedBinary: boolean;
  written: boolean;
}

/**
 * Checks every destination first (so a refusal leaves nothing half-done), then copies the binary
 * (mode 0755, atomically: a running old binary is replaced, not overwritten in place) and writes
 * the unit (0644). With `dryRun` only the checks run.
 */
export function installService(o: InstallServiceOptions): InstallResult {
  checkDir(o.unitDir, "--unit-dir");
  const unitPath = join(o.unitDir, UNIT_NAME);
  const unit = renderUnit(o);
  const copiedBinary = !sameFile(o.source, o.bin);
  if (copiedBinary) {
    try {
      if (!statSync(o.source).isFile()) throw new Error("not a file");
    } catch {
      throw new ConfigError(`cannot read the binary to install: ${o.source}`);
    }
    checkOutputPath(o.bin, "--bin", o.force);
  }
  checkOutputPath(unitPath, "--unit-dir", o.force);
  if (o.dryRun) return { unitPath, unit, copiedBinary, written: false };

  if (copiedBinary) {
    writeFileAtomic(o.bin, readFileSync(o.source), { mode: 0o755, force: o.force, flag: "--bin" });
    chmodSync(o.bin, 0o755); // the umask may have taken bits the service user needs
  }
  writeFileAtomic(unitPath, unit, { mode: 0o644, force: o.force, flag: "--unit-dir" });
  chmodSync(unitPath, 0o644);
  return { unitPath, unit, copiedBinary, written: true };
}

/** The report printed after (or instead of, with --dry-run) installing. */
export function formatInstallReport(o: InstallServiceOptions, r: InstallResult, steps: string[]): string {
  const lines: string[] = [];
  if (o.dryRun) {
    lines.push(r.copiedBinary ? `would copy ${o.source} -> ${o.bin} (mode 0755)` : `binary already at ${o.bin}`);
    lines.push(`would write ${r.unitPath} (mode 0644):`, "", r.unit.trimEnd(), "");
    lines.push("then run:");
  } else {
    lines.push(r.copiedBinary ? `installed ${o.bin}` : `binary already at ${o.bin}`);
    lines.push(`wrote ${r.unitPath} (User=${o.user}, ExecStart=${o.bin} serve${o.configFile ? ` --config ${o.configFile}` : ""})`);
    lines.push("next, run:");
  }
  for (const s of steps) lines.push(`  ${s}`);
  return lines.join("\n") + "\n";
}

/** Whether `name` is a known account (`getent passwd`), or undefined when that cannot be told. */
function userExists(name: string): boolean | undefined {
  try {
    const r = Bun.spawnSync(["getent", "passwd", name], { stdout: "ignore", stderr: "ignore", timeout: 5000 });
    if (r.exitCode === 0) return true;
    return r.exitCode === 2 ? false : undefined;
  } catch {
    return undefined;
  }
}

function ovirtProxyInstalled(): boolean {
  return ["/usr/lib/systemd/system/ovirt-websocket-proxy.service", "/etc/systemd/system/ovirt-websocket-proxy.service"].some((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

export default defineCommand({
  meta: { name: "install-service", description: "Copy this binary to /usr/local/bin and write a hardened systemd unit for `serve`" },
  args: installServiceArgs,
  run({ args }) {
    applyCommonArgs(args, process.env);
    const o = parseInstallServiceArgs(args);
    const r = installService(o);
    const steps = nextSteps(o, { userExists: userExists(o.user), ovirtProxyInstalled: ovirtProxyInstalled() });
    process.stdout.write(formatInstallReport(o, r, steps));
  },
});
