/**
 * The fleet store flags, shared by `serve` and `sessions`: --store URL (env NOVNC_PROXY_STORE),
 * --store-password-file, --store-prefix.
 */
import type { ArgsDef } from "citty";
import { ConfigError } from "../errors.ts";
import type { StoreConfig } from "../server/config.ts";
import { DEFAULT_STORE_PREFIX } from "../store/keys.ts";
import { parseStoreUrl } from "../store/url.ts";
import { readInputFile } from "../tls/read-file.ts";

export const storeArgs = {
  store: {
    type: "string",
    description: "Share single-use tickets, session caps and the session list with other instances through Redis: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://... (env NOVNC_PROXY_STORE)",
    valueHint: "url",
  },
  "store-password-file": { type: "string", description: "Read the store's password from a file (keeps it out of the URL and ps)", valueHint: "file" },
  "store-prefix": { type: "string", description: `Prefix of every key in the store (default ${DEFAULT_STORE_PREFIX})`, valueHint: "prefix" },
} as const satisfies ArgsDef;

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Flags -> store settings (reads the password file), or null without --store. */
export function parseStoreArgs(args: Record<string, unknown>, instanceId: string | null): StoreConfig | null {
  const url = str(args.store);
  const passwordFile = str(args["store-password-file"]);
  const prefix = str(args["store-prefix"]);
  if (!url) {
    if (passwordFile || prefix || instanceId) {
      const flag = passwordFile ? "--store-password-file" : prefix ? "--store-prefix" : "--instance-id";
      throw new ConfigError(`${flag} goes with --store URL`);
    }
    return null;
  }
  const password = passwordFile ? readInputFile(passwordFile, "--store-password-file").toString("utf8").replace(/\r?\n$/, "") : undefined;
  const addr = parseStoreUrl(url, password);
  if (instanceId !== null && !/^[\x21-\x7e]{1,100}$/.test(instanceId)) {
    throw new ConfigError(`--instance-id "${instanceId}": expected 1-100 printable characters without spaces`);
  }
  return { url: addr.url, shown: addr.shown, prefix: prefix ?? DEFAULT_STORE_PREFIX, instanceId };
}
