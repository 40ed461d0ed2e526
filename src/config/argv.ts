/**
 * The command line against a settings table, strictly: every spelling citty would accept
 * (`--engine-cert`, `--engineCert`, `--engine_cert`, `--no-x`, `--x=v`) means the documented
 * kebab-case setting; an unknown flag, a stray word, a missing value or a repeated single-value
 * flag is a ConfigError (exit 2) naming it, with the closest known flag as a hint. Pure.
 */
import { ConfigError } from "../errors.ts";
import type { SettingsTable } from "./schema.ts";
import { closest } from "./values.ts";

/** What the command line gave: text per value (a list for repeatable settings, "true"/"false" for switches). */
export type FlagValues = Map<string, string[]>;

/** `engineCert`, `engine_cert`, `ENGINE-CERT` -> `engine-cert`. */
export function kebabName(spelling: string): string {
  return spelling
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/_/g, "-")
    .toLowerCase();
}

/** `unknown flag --alow (did you mean --allow?)`. */
export function unknownFlag(shown: string, known: readonly string[]): ConfigError {
  const hint = closest(kebabName(shown.replace(/^-+/, "").replace(/^no-/, "")), known);
  return new ConfigError(`unknown flag ${shown}${hint ? ` (did you mean --${hint}?)` : ""}`);
}

/**
 * For commands whose flags citty parses (ticket, export-cert, install-service): every `--flag`
 * on the command line must be one of `known` in some spelling citty maps to it.
 */
export function checkFlagNames(rawArgs: readonly string[], known: readonly string[], switches: readonly string[]): void {
  for (const arg of rawArgs) {
    if (!arg.startsWith("--") || arg === "--") continue;
    const spelled = arg.slice(2).split("=")[0]!;
    const name = kebabName(spelled);
    if (known.includes(name) || (name.startsWith("no-") && switches.includes(name.slice(3)))) continue;
    throw unknownFlag(`--${spelled}`, known);
  }
}

/** Reads `rawArgs` (after the sub-command name) against `table`. */
export function parseArgv(table: SettingsTable, rawArgs: readonly string[]): FlagValues {
  const out: FlagValues = new Map();
  const known = Object.keys(table);
  const unknown = (shown: string): ConfigError => unknownFlag(shown, known);
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (!arg.startsWith("-") || arg === "-" || arg === "--") {
      throw new ConfigError(`unexpected argument "${arg}": every setting is a --flag (see --help)`);
    }
    if (!arg.startsWith("--")) throw unknown(arg.split("=")[0]!);
    const eq = arg.indexOf("=");
    const spelled = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    let name = kebabName(spelled);
    let negated = false;
    if (!(name in table) && name.startsWith("no-") && table[name.slice(3)]?.kind === "boolean") {
      name = name.slice(3);
      negated = true;
    }
    const def = table[name];
    if (!def) throw unknown(`--${spelled}`);
    const shown = `--${name}`;
    let value: string;
    if (def.kind === "boolean") {
      if (inline === undefined) value = negated ? "false" : "true";
      else if (!negated && (inline === "true" || inline === "false")) value = inline;
      else throw new ConfigError(`${shown} is a switch: give ${shown} or --no-${name}, without a value`);
    } else {
      if (inline === "") throw new ConfigError(`${shown}= needs a value${def.valueHint ? ` (${def.valueHint})` : ""}`);
      if (inline !== undefined) value = inline;
      else {
        const next = rawArgs[i + 1];
        if (next === undefined || next.startsWith("--")) throw new ConfigError(`${shown} needs a value${def.valueHint ? ` (${def.valueHint})` : ""}`);
        value = next;
        i++;
      }
    }
    const seen = out.get(name);
    if (seen && !def.repeatable) throw new ConfigError(`${shown} given twice; it takes one value`);
    out.set(name, [...(seen ?? []), value]);
  }
  return out;
}
