/**
 * `novnc-proxy sessions --store URL [--json]`: the fleet's live sessions.
 * `novnc-proxy sessions kill ID --store URL`: closes one on whichever instance holds it.
 * The store settings are found as serve finds them: flag > env > config file (`--config`,
 * NOVNC_PROXY_CONFIG, or the default file and its .d) > default, through the same merge.
 */
import { defineCommand, type ArgsDef } from "citty";
import { parseArgv } from "../config/argv.ts";
import { compileStore } from "../config/compile.ts";
import { mergeWithConf } from "../config/load-conf.ts";
import { cittyArgs, envNameOf, pickSettings, toggle } from "../config/schema.ts";
import { shownValue } from "../config/values.ts";
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
  async run({ rawArgs }) {
    // The settings table reads the flags strictly, as serve's (a repeated --store is a mistake, not "the last wins").
    const words: string[] = [];
    const m = mergeWithConf(SESSIONS_SETTINGS, parseArgv(SESSIONS_SETTINGS, rawArgs, words), process.env);
    const [action, id, extra] = words;
    if (extra !== undefined) throw new ConfigError(`unexpected argument "${shownValue(extra)}": sessions [list | kill ID]`);
    setLogLevel(m.values["log-level"]);
    for (const w of m.warnings) logger.warn(w);
    const named = (n: keyof typeof m.sources): string => (m.sources[n] === "flag" ? `--${n}` : `--${n} (${m.sources[n]})`);
    // `sessions` has no --instance-id: a setting it does not have was not given.
    const given = (n: string): boolean => (m.sources[n as keyof typeof m.sources] ?? "default") !== "default";
    const store = compileStore(m.values, given, (n) => named(n as keyof typeof m.sources));
    if (!store) throw new ConfigError(`--store URL (or ${envNameOf("store")}) is required`);
    if (action !== undefined && action !== "list" && action !== "kill") throw new ConfigError(`unknown action "${shownValue(action)}": expected list or kill ID`);
    if (action === "kill" && id === undefined) throw new ConfigError("sessions kill needs a session id");
    if (action !== "kill" && id !== undefined) throw new ConfigError(`unexpected argument "${shownValue(id)}": sessions [list | kill ID]`);
    const c = await openAdminClient(store.url, store.shown);
    try {
      if (id !== undefined) {
        const r = await killFleetSession(c, store.prefix, id);
        if (!r) throw new RuntimeError(`no live session ${shownValue(id)}`);
        if (!r.closed) throw new RuntimeError(`session ${shownValue(id)} on ${r.instance} was not closed within 5 s (is that instance running?)`);
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
