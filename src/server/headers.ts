/**
 * Security headers for every HTTP answer of the proxy (console page, assets, refusals).
 * The page loads only its own script and style, may connect only back to this proxy, and may be
 * framed only by the configured engine origins (clickjacking, CVE-2017-18635-style injection).
 */

const ORIGIN_SHAPE = /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/;

/**
 * The Content-Security-Policy for a response. `connect-src 'self'` covers `wss://` to this very
 * host:port (CSP Level 3, Chrome/Firefox), which is where the console's websocket goes.
 */
export function contentSecurityPolicy(engineOrigins: readonly string[]): string {
  // Origins come from the operator's config; anything that is not a plain origin is left out
  // rather than allowed to add or break a directive.
  const ancestors = ["'self'", ...engineOrigins.filter((o) => ORIGIN_SHAPE.test(o))].join(" ");
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    `frame-ancestors ${ancestors}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/** Headers every response carries; spread into a Response's headers. */
export function securityHeaders(engineOrigins: readonly string[]): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(engineOrigins),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}
