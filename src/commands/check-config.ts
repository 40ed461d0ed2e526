/**
 * `novnc-proxy check-config`: shows every effective serve setting and where it came from (flag,
 * env, FILE:LINE, default), then compiles exactly what serve would (certs parsed, key matched to
 * cert, origins, allowlist, CIDRs). Exit 0 with "config OK", or exit 2 with the same one line
 * serve would print.
 */
import { defineCommand } from "citty";
import { compileSettings } from "../config/compile.ts";
import { DEFAULT_CONF_FILE, readSettings } from "../config/load-conf.ts";
import { cittyArgs, SETTINGS, type SettingName } from "../config/schema.ts";
import { describeEngineOrigins } from "../server/lifecycle.ts";

/**
 * Does the whole check, writing the report line by line to `out`; throws ConfigError on the
 * first problem (after the settings table has been written, so the user sees where values came from).
 */
export function checkConfig(
  rawArgs: readonly string[],
  env: Record<string, string | undefined>,
  out: (line: string) => void,
  defaultFile: string = DEFAULT_CONF_FILE,
): void {
  const merged = readSettings(SETTINGS, rawArgs, env, defaultFile);
  out(`config files: ${merged.files.length ? merged.files.join(", ") : "none"}`);
  out("settings (flag > env > file > default):");
  const names = Object.keys(SETTINGS) as SettingName[];
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const def = SETTINGS[name];
    const given = merged.texts[name];
    let value: string;
    if (def.kind === "boolean") value = merged.values[name] ? "true" : "false";
    else if (given === undefined) value = "-";
    else value = given.filter((t) => t !== "").join(" ") || "-";
    if ("secret" in def && def.secret && given !== undefined) value = "***";
    else if ("shown" in def && def.shown && value !== "-") value = def.shown(value);
    out(`  ${name.padEnd(width)}  ${value}  (${merged.sources[name]})`);
  }
  for (const w of merged.warnings) out(`warning: ${w}`);
  const compiled = compileSettings(merged, env);
  for (const w of compiled.warnings) out(`warning: ${w}`);
  const config = compiled.server;
  const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  const id = config.identity;
  out(`listen: https://${host}:${config.port} tls>=${config.tlsMin}`);
  out(`tls 1.2 ciphers: ${config.tlsMin === "1.3" ? "none (TLS 1.3 only)" : config.ciphers}`);
  out(`certificate: "${id.subject}" expires ${id.notAfter.toISOString().slice(0, 10)} SHA-256 ${id.fingerprint256} (${id.source})`);
  out(`engine certificate: ${config.engineSubject ? `"${config.engineSubject}"` : "none (unsigned targets only)"}`);
  out(`engine origins: ${describeEngineOrigins(compiled.engineOrigins)}`);
  out(`allow: ${config.allowlist.describe()}`);
  if (config.store) out(`store: ${config.store.shown} prefix=${config.store.prefix} (not contacted by check-config)`);
  out("config OK");
}

export default defineCommand({
  meta: { name: "check-config", description: "Print the effective serve settings and where each came from, then load and check everything serve would" },
  args: cittyArgs(SETTINGS),
  run({ rawArgs }) {
    checkConfig(rawArgs, process.env, (line) => process.stdout.write(line + "\n"));
  },
});
