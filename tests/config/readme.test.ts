/**
 * The manual cannot drift: the README's `serve` flag table and `serve --help` (rendered from the
 * settings table) must list the same flags with the same defaults, and every other command's
 * section names each flag its `--help` offers (and its flag tables name no flag it lacks).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderUsage } from "citty";
import serve from "../../src/commands/serve.ts";
import { main } from "../../src/cli.ts";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** flag -> default cell, from the table under "### `novnc-proxy serve`" (backticks dropped). */
function readmeTable(): Map<string, string> {
  const section = README.split("### `novnc-proxy serve`")[1]!.split("\n### ")[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const m = /^\| `--([a-z0-9-]+)[^|]*\|.*\| ([^|]*) \|$/.exec(line.replace(/\\\|/g, "/"));
    if (m) rows.set(m[1]!, m[2]!.replace(/`/g, "").trim());
  }
  return rows;
}

/** flag -> default, from `serve --help`. */
async function helpTable(): Promise<Map<string, string>> {
  const usage = (await renderUsage(serve)).replace(/\x1b\[[0-9;]*m/g, "");
  const rows = new Map<string, string>();
  for (const line of usage.split("\n")) {
    const m = /--([a-z0-9-]+)(?:=<[^>]*>)?\s+.*\(default: (.*); env NOVNC_PROXY_[A-Z0-9_]+\)\s*$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe("README and --help agree", () => {
  test("the same flags", async () => {
    const help = await helpTable();
    expect(help.size).toBeGreaterThan(30);
    expect([...readmeTable().keys()].sort()).toEqual([...help.keys()].sort());
  });

  test("the same default for every flag", async () => {
    const readme = readmeTable();
    for (const [flag, def] of await helpTable()) expect(`--${flag}: ${readme.get(flag)}`).toBe(`--${flag}: ${def}`);
  });
});

/** Where each command is documented: its own section, or (install-service) the deployment one. */
const SECTION_TITLE: Record<string, string> = { "install-service": "### The systemd unit and `install-service`" };
/** Flags every command has; documented once, in the `serve` table and the Commands introduction. */
const COMMON = new Set(["log-level", "debug"]);

function sectionOf(command: string): string {
  const title = SECTION_TITLE[command] ?? `### \`novnc-proxy ${command}\``;
  const after = README.split(title)[1];
  if (after === undefined) throw new Error(`README has no section "${title}"`);
  return after.split("\n## ")[0]!.split("\n### ")[0]!;
}

async function commandFlags(command: string): Promise<string[]> {
  const subs = main.subCommands as Record<string, () => Promise<{ args?: Record<string, { type?: string }> }>>;
  const cmd = await subs[command]!();
  return Object.entries(cmd.args ?? {})
    .filter(([, d]) => d.type !== "positional")
    .map(([name]) => name);
}

describe("every command's README section and its --help agree", async () => {
  const commands = Object.keys(main.subCommands as object).filter((c) => c !== "serve" && c !== "check-config");

  test.each(commands)("%s: every flag of --help is in its section; its flag table names no other", async (command) => {
    const flags = await commandFlags(command);
    const section = sectionOf(command);
    expect(flags.filter((f) => !COMMON.has(f) && !section.includes(`--${f}`))).toEqual([]);
    const tabled = [...section.matchAll(/^\| `--([a-z0-9-]+)/gm), ...section.matchAll(/, `--([a-z0-9-]+)/g)].map((m) => m[1]!);
    expect(tabled.filter((f) => !flags.includes(f))).toEqual([]);
  });

  test("check-config takes exactly serve's flags, as its section says", async () => {
    expect((await commandFlags("check-config")).sort()).toEqual((await commandFlags("serve")).sort());
    expect(sectionOf("check-config")).toContain("Takes the same flags as `serve`");
  });

  test("the common flags are documented once for all commands", () => {
    const intro = README.split("## Commands")[1]!.split("\n### ")[0]!;
    for (const f of COMMON) expect(`${f}: ${intro.includes(`--${f}`)}`).toBe(`${f}: true`);
  });
});
