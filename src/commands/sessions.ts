/**
 * `novnc-proxy sessions --store URL [--json]`: the fleet's live sessions.
 * `novnc-proxy sessions kill ID --store URL`: closes one on whichever instance holds it.
 * The store settings are found as serve finds them: flag > env > config file (`--config`,
 * NOVNC_PROXY_CONFIG, or the default file and its .d) > default, through the same merge.
 */
import { defineCommand, type ArgsDef } from "citty";
import type { FlagValues } from "../config/argv.ts";
import { compileStore } from "../config/compile.ts";
import { mergeWithConf } from "../config/load-conf.ts";
import { cittyArgs, envNameOf, pickSettings, toggle } from "../config/schema.ts";
import { ConfigError, RuntimeError } from "../errors.ts";
import { logger, setLogLevel } from "../log.ts";
import { openAdminClient, listFleetSessions, killFleetSession, type FleetSession } from "../store/admin.ts";

const SESSIONS_SETTINGS = {
  ...pickSettings("store", "store-password-file", "store-prefix", "config", "log-level", "debug"),
  json: toggle({ description: "Print a JSON array (keys id, instance, client, target, ticket, bytesUp, bytesDown, ageSeconds)", notInFiles: true }),
};

export const sessionsArgs = {
  action: { type: "positional", required: false, description: "`list` (the default), or `kill` to close the session ID", valueHint: "list|kill" },
  id: { type: "positional", required: false, description: "Session id (from the list) for `kill`", valueHint: "id" },
  ...cittyArgs(SESSIONS_SETTINGS),
} as const satisfies ArgsDef;

/** The table `sessions` prints (a header, one line per session, and a count). */
export function formatSessions(list: FleetSession[]): string {
  const head = ["ID", "INSTANCE", "CLIENT", "TARGET", "TICKET", "UP", "DOWN", "AGE"];
  const rows = list.map((s) => [s.id, s.instance, s.client, s.target, s.ticket, String(s.bytesUp), String(s.bytesDown), `${s.ageSeconds}s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map(line), `${list.length} live session(s)`].join("\n") + "\n";
}

export default defineCommand({
  meta: { name: "sessions", description: "List the live sessions of every instance sharing a --store, or close one: sessions kill ID" },
  args: sessionsArgs,
  async run({ args }) {
    // citty parsed the flags (positionals are ours); the settings table parses and checks their values.
    const flags: FlagValues = new Map();
    for (const name of Object.keys(SESSIONS_SETTINGS)) {
      const v = (args as Record<string, unknown>)[name];
      if (typeof v === "string" || typeof v === "boolean") flags.set(name, [String(v)]);
    }
    const m = mergeWithConf(SESSIONS_SETTINGS, flags, process.env);
    setLogLevel(m.values["log-level"]);
    for (const w of m.warnings) logger.warn(w);
    const named = (n: keyof typeof m.sources): string => (m.sources[n] === "flag" ? `--${n}` : `--${n} (${m.sources[n]})`);
    // `sessions` has no --instance-id: a setting it does not have was not given.
    const given = (n: string): boolean => (m.sources[n as keyof typeof m.sources] ?? "default") !== "default";
    const store = compileStore(m.values, given, (n) => named(n as keyof typeof m.sources));
    if (!store) throw new ConfigError(`--store URL (or ${envNameOf("store")}) is required`);
    const action = args.action === "list" ? undefined : (args.action as string | undefined);
    if (action !== undefined && action !== "kill") throw new ConfigError(`unknown action "${action.slice(0, 40)}": expected list or kill ID`);
    if (action === "kill" && !args.id) throw new ConfigError("sessions kill needs a session id");
    const c = await openAdminClient(store.url, store.shown);
    try {
      if (action === "kill") {
        const id = String(args.id);
        const r = await killFleetSession(c, store.prefix, id);
        if (!r) throw new RuntimeError(`no live session ${id.slice(0, 80)}`);
        if (!r.closed) throw new RuntimeError(`session ${id} on ${r.instance} was not closed within 5 s (is that instance running?)`);
        process.stdout.write(`closed session ${id} on ${r.instance}\n`);
        return;
      }
      const list = await listFleetSessions(c, store.prefix);
      process.stdout.write(m.values.json ? JSON.stringify(list) + "\n" : formatSessions(list));
    } finally {
      c.close();
    }
  },
});
