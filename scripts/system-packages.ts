/**
 * The system packages the tests use, in one list (append yours here), and the check `npm test`
 * runs first: anything missing is installed with apt-get when running as root, otherwise the
 * run stops at once with the exact `apt-get install` line.
 *
 *   bun scripts/system-packages.ts          check (and install as root)
 *   bun scripts/system-packages.ts --list   print the Debian package names
 */
import { existsSync } from "node:fs";

/** A command the tests run, and the Debian package that provides it. */
export const SYSTEM_PACKAGES: readonly { command: string; pkg: string }[] = [
  { command: "qemu-system-x86_64", pkg: "qemu-system-x86" },
  { command: "chromium", pkg: "chromium" },
  { command: "openssl", pkg: "openssl" },
  { command: "keytool", pkg: "default-jre-headless" },
  { command: "redis-server", pkg: "redis-server" },
  { command: "haproxy", pkg: "haproxy" },
];

/** Also look in the sbin folders: haproxy lives in /usr/sbin, which a user's PATH may lack. */
function installed(command: string): boolean {
  return Bun.which(command) !== null || ["/usr/sbin", "/sbin", "/usr/bin"].some((d) => existsSync(`${d}/${command}`));
}

/** Packages whose command is missing. */
export function missingPackages(): string[] {
  return [...new Set(SYSTEM_PACKAGES.filter((p) => !installed(p.command)).map((p) => p.pkg))];
}

function sh(cmd: string[]): boolean {
  console.error(`$ ${cmd.join(" ")}`);
  const r = Bun.spawnSync(cmd, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return r.exitCode === 0;
}

if (import.meta.main) {
  if (process.argv.includes("--list")) {
    console.log(SYSTEM_PACKAGES.map((p) => p.pkg).join(" "));
    process.exit(0);
  }
  const missing = missingPackages();
  if (missing.length === 0) process.exit(0);
  const install = ["apt-get", "install", "-y", "-q", ...missing];
  if (process.getuid?.() !== 0 || !installed("apt-get")) {
    console.error(`system packages missing for the tests: ${missing.join(" ")}\ninstall them with:\n  sudo apt-get update && sudo ${install.join(" ")}`);
    process.exit(1);
  }
  if (!sh(["apt-get", "update", "-q"]) || !sh(install)) {
    console.error(`apt-get failed; run by hand: apt-get update && ${install.join(" ")}`);
    process.exit(1);
  }
  const still = missingPackages();
  if (still.length > 0) {
    console.error(`still missing after apt-get: ${still.join(" ")}`);
    process.exit(1);
  }
}
