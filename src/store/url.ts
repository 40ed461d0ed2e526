/**
 * The fleet store's address: `redis://[:PASSWORD@]HOST:PORT[/DB]` or `rediss://...` (TLS), with
 * the password optionally from a file so it stays out of the URL and `ps`. Pure: the caller reads
 * the file. The shown form never contains the password (logs, check-config, error lines).
 */
import { BadValue } from "../config/values.ts";

export interface StoreAddress {
  /** What the client connects to, password included. */
  url: string;
  /** The same without the password, for logs and messages. */
  shown: string;
  tls: boolean;
}

/**
 * Parses and checks a store URL; `password` (from --store-password-file) goes into it. Throws
 * BadValue with the problem only (the caller names the flag, variable or FILE:LINE).
 */
export function parseStoreUrl(value: string, password?: string): StoreAddress {
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    throw new BadValue("expected redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://...");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new BadValue(`scheme "${u.protocol.replace(/:$/, "").slice(0, 20)}" not supported; expected redis:// or rediss://`);
  }
  if (!u.hostname) throw new BadValue("no host; expected redis://HOST:PORT");
  if (u.search || u.hash) throw new BadValue("query and fragment are not supported");
  if (u.pathname !== "" && u.pathname !== "/" && !/^\/\d{1,2}$/.test(u.pathname)) {
    throw new BadValue("the database after the port must be a number (0-15)");
  }
  if (password !== undefined) {
    if (u.password) throw new BadValue("has a password and --store-password-file gives one too: give one");
    u.password = encodeURIComponent(password);
  }
  const shownUrl = new URL(u.href);
  if (shownUrl.password) shownUrl.password = "***";
  return { url: u.href, shown: shownUrl.href.replace(/\/$/, ""), tls: u.protocol === "rediss:" };
}

/**
 * The shown form of a URL that may not parse (check-config and error lines show values as given).
 * Unparsed, everything between `//` and the last `@` after it counts as user and password: a
 * password with an unencoded `/`, `@` or `?` is a likely reason the URL did not parse, so the
 * password is never cut short at one of them.
 */
export function redactStoreUrl(value: string): string {
  try {
    return parseStoreUrl(value).shown;
  } catch {
    const start = value.indexOf("//");
    const at = value.lastIndexOf("@");
    if (start < 0 || at < start) return value;
    const userinfo = value.slice(start + 2, at);
    const colon = userinfo.indexOf(":");
    return `${value.slice(0, start + 2)}${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***`}${value.slice(at)}`;
  }
}
