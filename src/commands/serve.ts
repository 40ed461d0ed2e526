/**
 * `novnc-proxy serve`: flags + env + config files -> typed settings (src/config/load-conf.ts,
 * merge.ts) -> compiled settings (src/config/compile.ts) -> the running server
 * (src/server/lifecycle.ts). A reload runs the same two steps again.
 */
import { defineCommand } from "citty";
import { compileSettings, type CompiledSettings } from "../config/compile.ts";
import { readSettings } from "../config/load-conf.ts";
import { cittyArgs, SETTINGS } from "../config/schema.ts";
import { setLogFormat, setLogLevel } from "../log.ts";
import { handleSignals, runServer } from "../server/lifecycle.ts";

/** Reads and compiles every serve setting; ConfigError on the first problem. */
export function loadServeSettings(rawArgs: readonly string[], env: Record<string, string | undefined>): { compiled: CompiledSettings; warnings: string[] } {
  const merged = readSettings(SETTINGS, rawArgs, env);
  const compiled = compileSettings(merged, env);
  return { compiled, warnings: [...merged.warnings, ...compiled.warnings] };
}

export default defineCommand({
  meta: { name: "serve", description: "Serve the HTML5 console and relay ticket-verified websockets to VNC servers" },
  args: cittyArgs(SETTINGS),
  async run({ rawArgs }) {
    const { compiled, warnings } = loadServeSettings(rawArgs, process.env);
    setLogLevel(compiled.logLevel);
    setLogFormat(compiled.logFormat);
    const running = await runServer(compiled, warnings);
    handleSignals(running, compiled, () => loadServeSettings(rawArgs, process.env).compiled);
  },
});
