#!/usr/bin/env bun
/**
 * Entry point: the root command, its lazily loaded sub-commands, and the one place where errors
 * become a single stderr line and an exit code (citty's own runMain would print a stack).
 */
import { defineCommand, runCommand, renderUsage, type CommandDef } from "citty";
import { VERSION } from "./version.ts";
import { exitCodeOf, oneLine } from "./errors.ts";
import { canonicalFlags, kebabName } from "./config/argv.ts";
import { isTrue } from "./config/ovirt-conf.ts";
import { SETTINGS, type SettingName } from "./config/schema.ts";

export const main = defineCommand({
  meta: {
    name: "novnc-proxy",
    version: VERSION,
    description: "HTML5 VNC console over HTTPS and a ticket-verified WebSocket relay to VNC servers",
  },
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    ticket: () => import("./commands/ticket.ts").then((m) => m.default),
    "export-cert": () => import("./commands/export-cert.ts").then((m) => m.default),
    demo: () => import("./commands/demo.ts").then((m) => m.default),
    "check-config": () => import("./commands/check-config.ts").then((m) => m.default),
    "install-service": () => import("./commands/install-service.ts").then((m) => m.default),
    sessions: () => import("./commands/sessions.ts").then((m) => m.default),
  },
});

/** Finds the (sub)command the raw args name (and the words that named it), for printing its usage. */
async function resolveCommand(rawArgs: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined, string[]]> {
  let cmd: CommandDef<any> = main;
  let parent: CommandDef<any> | undefined;
  const path: string[] = [];
  for (const arg of rawArgs) {
    if (arg.startsWith("-")) break;
    const subs = typeof cmd.subCommands === "function" ? await cmd.subCommands() : await cmd.subCommands;
    const next = subs?.[arg];
    if (!next) break;
    parent = cmd;
    path.push(arg);
    cmd = typeof next === "function" ? await (next as () => Promise<CommandDef<any>>)() : await next;
  }
  return [cmd, parent, path];
}

/** citty colours its usage text unconditionally; keep escapes out of pipes and files. */
function plain(text: string, stream: NodeJS.WriteStream): string {
  return stream.isTTY && !process.env.NO_COLOR ? text : text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * `--debug` in any spelling the parsers take (`--debug=true`, `--no-debug`, last wins) or
 * NOVNC_PROXY_DEBUG, as check-config reports it. Read here, before any setting: a bad setting
 * is what it helps with.
 */
export function wantsDebug(rawArgs: readonly string[], env: Record<string, string | undefined>): boolean {
  let on = isTrue(env.NOVNC_PROXY_DEBUG ?? "");
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (!arg.startsWith("--")) continue;
    const flag = kebabName(arg.slice(2));
    if (flag === "debug" || flag === "debug=true") on = true;
    else if (flag === "no-debug" || flag === "debug=false") on = false;
  }
  return on;
}

export async function run(rawArgs: string[]): Promise<number> {
  const debug = wantsDebug(rawArgs, process.env);
  if (rawArgs.length === 0 || rawArgs.includes("--help") || rawArgs.includes("-h")) {
    const [cmd, parent] = await resolveCommand(rawArgs);
    process.stdout.write(plain(await renderUsage(cmd, parent), process.stdout) + "\n");
    return 0;
  }
  if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
    process.stdout.write(VERSION + "\n");
    return 0;
  }
  try {
    const [cmd] = await resolveCommand(rawArgs);
    const args = Object.entries((cmd.args ?? {}) as Record<string, { type?: string }>).filter(([, d]) => d.type !== "positional");
    // citty ignores flags it does not know and maps only camelCase spellings: a typo or a
    // snake_case spelling must not be a silently dropped setting.
    const canonical = canonicalFlags(
      rawArgs,
      args.map(([n]) => n),
      args.filter(([, d]) => d.type === "boolean").map(([n]) => n),
      args.filter(([n]) => n in SETTINGS && SETTINGS[n as SettingName].repeatable).map(([n]) => n),
    );
    await runCommand(main, { rawArgs: canonical });
    return 0;
  } catch (err) {
    const code = exitCodeOf(err);
    // A usage mistake (unknown command, missing argument) is one line too, pointing at the help
    // of the command it concerns instead of printing the whole usage before it.
    let hint = "";
    if (err instanceof Error && err.name === "CLIError") {
      const [, , path] = await resolveCommand(rawArgs);
      hint = ` (see ${["novnc-proxy", ...path].join(" ")} --help)`;
    }
    // citty colours the names in its own messages ("Unknown command \x1b[36mx\x1b[39m").
    process.stderr.write(plain(`novnc-proxy: ${oneLine(err)}${hint}`, process.stderr) + "\n");
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
    return code;
  }
}

if (import.meta.main) {
  const code = await run(process.argv.slice(2));
  // A long-running command (serve) keeps the event loop alive itself; others exit now.
  if (code !== 0) process.exit(code);
}
