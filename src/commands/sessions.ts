/**
 * `novnc-proxy sessions --store URL [--json]`: the fleet's live sessions.
 * `novnc-proxy sessions kill ID --store URL`: closes one on whichever instance holds it.
 */
import { defineCommand } from "citty";
import { commonArgs, applyLogLevel } from "./_args.ts";
import { storeArgs, parseStoreArgs } from "./_store-args.ts";
import { ConfigError, RuntimeError } from "../errors.ts";
import { envNameOf } from "../config/settings.ts";
import { openAdminClient, listFleetSessions, killFleetSession, type FleetSession } from "../store/admin.ts";

export const sessionsArgs = {
  action: { type: "positional", required: false, description: "Nothing to list, or `kill` to close the session ID", valueHint: "kill" },
  id: { type: "positional", required: false, description: "Session id (from the list) for `kill`", valueHint: "id" },
  ...storeArgs,
  json: { type: "boolean", description: "Print the list as a JSON array (keys id, instance, client, target, ticket, bytesUp, bytesDown, ageSeconds)" },
  ...commonArgs,
} as const;

/** The table `sessions` prints (one line per session, a header, and a count). */
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
    applyLogLevel(args["log-level"]);
    const env = process.env;
    const merged = { ...args, store: args.store || env[envNameOf("store")] };
    const store = parseStoreArgs(merged, null);
    if (!store) throw new ConfigError(`--store URL (or ${envNameOf("store")}) is required`);
    const action = args.action as string | undefined;
    if (action !== undefined && action !== "kill") throw new ConfigError(`unknown action "${action}": expected kill ID`);
    if (action === "kill" && !args.id) throw new ConfigError("sessions kill needs a session id");
    const c = await openAdminClient(store.url, store.shown);
    try {
      if (action === "kill") {
        const id = String(args.id);
        const r = await killFleetSession(c, store.prefix, id);
        if (!r) throw new RuntimeError(`no live session ${id}`);
        if (!r.closed) throw new RuntimeError(`session ${id} on ${r.instance} was not closed within 5 s (is that instance running?)`);
        process.stdout.write(`closed session ${id} on ${r.instance}\n`);
        return;
      }
      const list = await listFleetSessions(c, store.prefix);
      process.stdout.write(args.json ? JSON.stringify(list) + "\n" : formatSessions(list));
    } finally {
      c.close();
    }
  },
});
