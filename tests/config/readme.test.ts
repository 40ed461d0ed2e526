/**
 * The manual cannot drift: the README's `serve` flag table and `serve --help` (rendered from the
 * settings table) must list the same flags with the same defaults.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderUsage } from "citty";
import serve from "../../src/commands/serve.ts";

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
