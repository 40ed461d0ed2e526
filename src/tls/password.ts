/**
 * Where a keystore password comes from, shared by `export-cert` and `serve --keystore`:
 * --password, else --password-file, else $NOVNC_KEYSTORE_PASSWORD, else oVirt's `mypass`.
 * A file keeps the password out of `ps` and shell history; it is read, never echoed.
 */
import { ConfigError } from "../errors.ts";
import { readInputText } from "./read-file.ts";

/** oVirt's default keystore password (engine-setup writes `mypass`). */
export const DEFAULT_KEYSTORE_PASSWORD = "mypass";

/** Name of the environment variable holding the keystore password. */
export const KEYSTORE_PASSWORD_ENV = "NOVNC_KEYSTORE_PASSWORD";

export interface PasswordSources {
  password?: string;
  passwordFile?: string;
}

/**
 * A password from a file (keystore, fleet store): its text without one trailing newline
 * (`echo secret > f`); an empty file is an empty password. `role` starts the error line.
 */
export function readSecretFile(file: string, role: string): string {
  return readInputText(file, role).replace(/\r?\n$/, "");
}

/**
 * Picks the password. `--password` and `--password-file` together is an error. A password
 * file's single trailing newline is dropped (`echo mypass > f`); an empty file = empty password.
 */
export function resolveKeystorePassword(
  src: PasswordSources,
  env: Record<string, string | undefined> = process.env,
): string {
  if (src.password !== undefined && src.passwordFile !== undefined) {
    throw new ConfigError("give either --password or --password-file, not both");
  }
  if (src.password !== undefined) return src.password;
  if (src.passwordFile !== undefined) {
    return readSecretFile(src.passwordFile, "password file");
  }
  const fromEnv = env[KEYSTORE_PASSWORD_ENV];
  if (fromEnv !== undefined) return fromEnv;
  return DEFAULT_KEYSTORE_PASSWORD;
}
