/**
 * Origin check for websocket upgrades (cross-site websocket hijacking, CVE-2015-0259): a page
 * may open a console only when it is served by the proxy itself (`https://<Host header>`) or
 * by a configured engine origin. `null` is always refused; a missing Origin (non-browser
 * client) only passes when not required. Configured origins are validated once. Pure: no I/O.
 */
import { ConfigError } from "../errors.ts";
import { printable } from "../printable.ts";

/** scheme://host[:port], nothing else; host chars as browsers serialise them (IDN as punycode). */
const ORIGIN_SHAPE = /^(https?):\/\/([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/i;
const HOST_HEADER_SHAPE = /^([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;
const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" };

/**
 * Normalise `scheme://host[:port]` to `scheme://host:port` (lowercase, default port filled in)
 * via the WHATWG URL parser, or null when it is not exactly an origin.
 */
function originKey(text: string): string | null {
  const m = ORIGIN_SHAPE.exec(text);
  if (!m) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const scheme = m[1]!.toLowerCase();
  if (url.protocol !== `${scheme}:` || url.username !== "" || url.password !== "" || url.pathname !== "/") return null;
  if (m[3] !== undefined && Number(m[3]) > 65535) return null;
  return `${scheme}://${url.hostname}:${url.port || DEFAULT_PORT[scheme]}`;
}

/**
 * A configured origin (`https://engine.example`, `http://host:8080`) normalised, or null when it
 * is not exactly scheme://host[:port]. Operators often paste a URL with a trailing slash; that
 * alone is harmless.
 */
export function originSpecKey(spec: string): string | null {
  return originKey(spec.endsWith("/") && !spec.endsWith("//") ? spec.slice(0, -1) : spec);
}

/** The proxy's own origin from the Host header, normalised like `originKey`, or null. */
function ownOriginKey(hostHeader: string | null): string | null {
  if (typeof hostHeader !== "string" || !HOST_HEADER_SHAPE.test(hostHeader)) return null;
  return originKey(`https://${hostHeader}`);
}

/**
 * Compile the origin check once. `allowed` are configured origins (`https://engine.example.com`,
 * `http://host:8080`); a bad one throws ConfigError. The returned function gets the request's
 * Origin and Host headers and answers null (allowed) or a short reason.
 */
export function compileOriginCheck(
  allowed: string[],
  opts?: { requireOrigin?: boolean },
): (origin: string | null, hostHeader: string | null) => string | null {
  const keys = new Set<string>();
  for (const spec of allowed) {
    const key = originSpecKey(spec);
    if (!key) {
      throw new ConfigError(`--origin "${printable(spec, 80)}": expected scheme://host[:port] with scheme http or https and no path`);
    }
    keys.add(key);
  }
  const requireOrigin = opts?.requireOrigin === true;

  return function checkOrigin(origin: string | null, hostHeader: string | null): string | null {
    if (origin === null || origin === undefined) {
      return requireOrigin ? "missing Origin header" : null;
    }
    if (origin === "null") return "Origin null not allowed";
    const key = originKey(origin);
    if (!key) return `malformed Origin "${printable(origin, 80)}"`;
    if (keys.has(key) || key === ownOriginKey(hostHeader)) return null;
    return `Origin ${printable(origin, 80)} not allowed`;
  };
}
