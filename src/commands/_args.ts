/**
 * Arguments shared by commands that have no settings table of their own: `--log-level` and
 * `--debug`, taken from the settings table so help and parsing agree everywhere.
 */
import type { ArgsDef } from "citty";
import { mergeSettings } from "../config/merge.ts";
import { cittyArgs, pickSettings } from "../config/schema.ts";
import { logger, setLogLevel } from "../log.ts";

export const commonSettings = pickSettings("log-level", "debug");
export const commonArgs: ArgsDef = cittyArgs(commonSettings);

/**
 * For a command whose flags citty parsed: `--log-level` (or its env variable) through the
 * table's parser, so a bad level is an error here too, then applied. `--debug` is read by cli.ts.
 */
export function applyCommonArgs(args: Record<string, unknown>, env: Record<string, string | undefined>): void {
  const level = args["log-level"];
  const m = mergeSettings({ table: commonSettings, flags: new Map(typeof level === "string" ? [["log-level", [level]]] : []), env });
  setLogLevel(m.values["log-level"]);
  for (const w of m.warnings) logger.warn(w);
}
