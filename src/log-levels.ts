/** Log level and format names: the one list that flags, env, help and the logger use. Pure. */
export const LOG_LEVEL_NAMES = ["silent", "error", "warn", "info", "debug"] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];
export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
