/**
 * Arguments shared by commands that have no settings table of their own: `--log-level` and
 * `--debug`, taken from the settings table so help and parsing agree everywhere.
 */
import type { ArgsDef } from "citty";
import { cittyArgs, pickSettings } from "../config/schema.ts";

export const commonSettings = pickSettings("log-level", "debug");
export const commonArgs: ArgsDef = cittyArgs(commonSettings);
