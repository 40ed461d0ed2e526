/**
 * Reads an input file (key, cert, keystore, CA), turning every file-system failure into one ConfigError line
 * that names the file (and the role it plays) but never its contents.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** Why a file could not be read, in words, for a node fs error code. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied (not readable by this user)";
    case "EISDIR":
      return "is a directory, not a file";
    case "ENOTDIR":
      return "a parent of this path is not a directory";
    default:
      return code ? `cannot read (${code})` : "cannot read";
  }
}

/** The file's bytes; `role` ("certificate file", "keystore", "config"...) starts the error line. */
export function readInputFile(file: string, role: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${role} ${file}: ${describeFsError(err)}`);
  }
}

/** The file as UTF-8 text, with the same one-line error as `readInputFile`. */
export function readInputText(file: string, role: string): string {
  return readInputFile(file, role).toString("utf8");
}
