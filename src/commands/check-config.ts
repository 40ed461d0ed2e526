/**
 * `novnc-proxy check-config`: shows every effective serve setting and where it came from (flag,
 * env, FILE:LINE, default), then loads what serve would load (certs parsed, key matched to cert).
 * Exit 0 with "config OK", or exit 2 with one line naming the problem.
 */
import { defineCommand, type ArgsDef } from "citty";
import { configArgs, DEFAULT_CONF_FILE, loadSettings } from "../config/load-conf.ts";
import { applyLogLevel, repeated } from "./_args.ts";
import { parseServeArgs, serveArgs } from "./serve.ts";
import { loadServeConfig } from "../server/load-config.ts";

export const checkConfigArgs = { ...serveArgs, ...configArgs } as const satisfies ArgsDef;

/** Never shown: values of flags that are secrets themselves (not the files holding them). */
const isSecret = (flag: string): boolean => /password$/.test(flag);

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
  const settings = loadSettings(checkConfigArgs, rawArgs, env, defaultFile);
  out(`config files: ${settings.files.length ? settings.files.join(", ") : "none"}`);
  out("settings (flag > env > file > default):");
  const names = Object.keys(checkConfigArgs);
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const source = settings.sources[name] ?? "default";
    let value: string;
    const raw = settings.args[name];
    if ((checkConfigArgs as ArgsDef)[name]?.type === "boolean") value = raw ? "true" : "false";
    else if (/\brepeatable\b/i.test(String((checkConfigArgs as ArgsDef)[name]?.description ?? ""))) {
      const list = repeated(settings.rawArgs, name);
      value = list.length ? list.join(" ") : "-";
    } else value = typeof raw === "string" && raw !== "" ? raw : "-";
    if (isSecret(name) && value !== "-") value = "***";
    out(`  ${name.padEnd(width)}  ${value}  (${source})`);
  }
  for (const w of settings.warnings) out(`warning: ${w}`);
  applyLogLevel(settings.args["log-level"]);
  const options = parseServeArgs(settings.args, settings.rawArgs, env);
  const { config, warnings } = loadServeConfig(options);
  for (const w of warnings) out(`warning: ${w}`);
  const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
  const id = config.identity;
  out(`listen: https://${host}:${config.port} tls>=${config.tlsMin}`);
  out(`tls 1.2 ciphers: ${config.tlsMin === "1.3" ? "none (TLS 1.3 only)" : config.ciphers}`);
  out(`certificate: "${id.subject}" expires ${id.notAfter.toISOString().slice(0, 10)} SHA-256 ${id.fingerprint256} (${id.source})`);
  out(`engine certificate: ${config.engineSubject ? `"${config.engineSubject}"` : "none (unsigned targets only)"}`);
  out(`allow: ${config.allowlist.describe()}`);
  out("config OK");
}

export default defineCommand({
  meta: { name: "check-config", description: "Print the effective serve settings and where each came from, then load and check certs and keys" },
  args: checkConfigArgs,
  run({ rawArgs }) {
    checkConfig(rawArgs, process.env, (line) => process.stdout.write(line + "\n"));
  },
});
