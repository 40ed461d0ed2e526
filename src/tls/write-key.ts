/**
 * Writes exported keys and certificates. A key file is created with mode 0600 from its first
 * byte (a temp file opened 0600 in the same folder, then renamed/linked into place), so an
 * unencrypted key is never briefly readable by others, and an existing file is never
 * overwritten unless the user said --force.
 */
import { accessSync, closeSync, constants, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { describeFsError } from "./read-file.ts";

/** Mode for private keys. */
export const KEY_FILE_MODE = 0o600;
/** Mode for certificates (public). */
export const CERT_FILE_MODE = 0o644;

/**
 * Checks, before anything is written, that `file` can be created: its folder exists and is
 * writable, and the file does not exist yet (or `force`). `flag` names the option in errors.
 */
export function checkOutputPath(file: string, flag: string, force: boolean): void {
  const dir = dirname(resolve(file));
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new ConfigError(`${flag} ${file}: output folder ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new ConfigError(`${flag} ${file}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ConfigError(`${flag} ${file}: output folder ${dir} is not writable`);
  }
  let existing;
  try {
    existing = statSync(file);
  } catch {
    return; // does not exist: fine
  }
  if (existing.isDirectory()) throw new ConfigError(`${flag} ${file}: is a folder`);
  if (!force) throw new ConfigError(`${flag} ${file}: file exists (use --force to overwrite)`);
}

/**
 * Writes `data` to `file` with `mode` set at creation. Without `force`, fails if `file`
 * exists (atomically, via link). The content appears whole or not at all.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mode: number; force: boolean; flag: string }): void {
  const target = resolve(file);
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode);
  } catch (err) {
    throw new ConfigError(`${opts.flag} ${file}: cannot create a file in ${dirname(target)} (${describeFsError(err)})`);
  }
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw new ConfigError(`${opts.flag} ${file}: write failed (${describeFsError(err)})`);
  }
  closeSync(fd);
  try {
    if (opts.force) {
      renameSync(tmp, target);
    } else {
      // link() refuses an existing target atomically, unlike rename().
      try {
        linkSync(tmp, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw new ConfigError(`${opts.flag} ${file}: file exists (use --force to overwrite)`);
        if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw err;
        // File systems without hard links: best effort check, then rename.
        if (exists(target)) throw new ConfigError(`${opts.flag} ${file}: file exists (use --force to overwrite)`);
        renameSync(tmp, target);
        return;
      }
      unlinkQuiet(tmp);
    }
  } catch (err) {
    unlinkQuiet(tmp);
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${opts.flag} ${file}: cannot write (${describeFsError(err)})`);
  }
}

/** A private key: mode 0600 from the first byte. */
export function writeKeyFile(file: string, pem: string, force: boolean, flag = "--key-out"): void {
  writeFileAtomic(file, pem, { mode: KEY_FILE_MODE, force, flag });
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
