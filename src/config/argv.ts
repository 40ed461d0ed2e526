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
 * For commands whose flags citty parses (ticket, export-cert, install-service, sessions): every
 * flag must be one of `known`, and is returned in its documented kebab-case spelling, because
 * citty itself maps only the camelCase one (`--view_only` would reach it as an unknown key and be
 * dropped). A flag given twice is refused unless `repeatable`. Values after a non-switch flag pass
 * as they are; a short `-x` flag is refused (none of these commands has one; `-h` is handled
 * before). Everything after `--` passes as it is.
 */
export function canonicalFlags(rawArgs: readonly string[], known: readonly string[], switches: readonly string[], repeatable: readonly string[] = []): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") return [...out, ...rawArgs.slice(i)];
    if (/^-[^-\d]/.test(arg)) throw unknownFlag(arg.split("=")[0]!, known);
    if (!arg.startsWith("--")) {
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const spelled = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const name = kebabName(spelled);
    if (!known.includes(name) && !(name.startsWith("no-") && switches.includes(name.slice(3)))) throw unknownFlag(`--${spelled}`, known);
    // citty keeps the last of two values; serve's parser refuses them, and so does this one.
    const setting = name.startsWith("no-") && !known.includes(name) ? name.slice(3) : name;
    if (seen.has(setting) && !repeatable.includes(setting)) throw new ConfigError(`--${setting} given twice; it takes one value`);
    seen.add(setting);
    out.push(`--${name}${eq < 0 ? "" : arg.slice(eq)}`);
    const next = rawArgs[i + 1];
    if (eq < 0 && known.includes(name) && !switches.includes(name) && next !== undefined && !next.startsWith("--")) {
      out.push(next);
      i++;
    }
  }
  return out;
}

/**
 * Reads `rawArgs` (after the sub-command name) against `table`. Words that are not flags are a
 * mistake, unless the command takes some: then they are collected into `positionals`.
 */
export function parseArgv(table: SettingsTable, rawArgs: readonly string[], positionals?: string[]): FlagValues {
  const out: FlagValues = new Map();
  const known = Object.keys(table);
  const unknown = (shown: string): ConfigError => unknownFlag(shown, known);
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (positionals && !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
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
