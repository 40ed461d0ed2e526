/**
 * The fleet store's address: `redis://[:PASSWORD@]HOST:PORT[/DB]` or `rediss://...` (TLS), with
 * the password optionally from a file so it stays out of the URL and `ps`. Pure: the caller reads
 * the file. The shown form never contains the password (logs, check-config).
 */
import { ConfigError } from "../errors.ts";

export interface StoreAddress {
  /** What the client connects to, password included. */
  url: string;
  /** The same without the password, for logs and messages. */
  shown: string;
  tls: boolean;
}

/** Parses and checks a store URL; `password` (from --store-password-file) replaces one in the URL. */
export function parseStoreUrl(value: string, password?: string): StoreAddress {
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    throw new ConfigError(`--store: not a URL; expected redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://...`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new ConfigError(`--store: scheme "${u.protocol.replace(/:$/, "")}" not supported; expected redis:// or rediss://`);
  }
  if (!u.hostname) throw new ConfigError("--store: no host; expected redis://HOST:PORT");
  if (u.search || u.hash) throw new ConfigError("--store: query and fragment are not supported");
  if (u.pathname !== "" && u.pathname !== "/" && !/^\/\d{1,2}$/.test(u.pathname)) {
    throw new ConfigError(`--store: database "${u.pathname.slice(1)}": expected a number (0-15)`);
  }
  if (password !== undefined) {
    if (u.password) throw new ConfigError("--store has a password and --store-password-file gives one too: give one");
    u.password = encodeURIComponent(password);
  }
  const shownUrl = new URL(u.href);
  if (shownUrl.password) shownUrl.password = "***";
  return { url: u.href, shown: shownUrl.href.replace(/\/$/, ""), tls: u.protocol === "rediss:" };
}

/** The shown form of a URL that may not parse (check-config prints values before checking them). */
export function redactStoreUrl(value: string): string {
  try {
    return parseStoreUrl(value).shown;
  } catch {
    return value.replace(/\/\/[^@/]*@/, "//***@");
  }
}
