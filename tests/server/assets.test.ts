import { describe, expect, test } from "bun:test";
import { escapeAttribute, renderPage, serveAsset } from "../../src/server/assets.ts";
import { contentSecurityPolicy, securityHeaders } from "../../src/server/headers.ts";

const ENGINE = ["https://engine.example.com"];

function get(path: string, init: RequestInit = {}): Request {
  return new Request(`https://proxy.example.com:6100${path}`, init);
}

describe("serveAsset", () => {
  test.each([
    ["/", "text/html; charset=utf-8"],
    ["/console", "text/html; charset=utf-8"],
    ["/console.js", "text/javascript; charset=utf-8"],
    ["/console.css", "text/css; charset=utf-8"],
    ["/favicon.svg", "image/svg+xml"],
  ])("serves %s as %s with the security headers", async (path, type) => {
    const res = serveAsset(get(path), path, { engineOrigins: ENGINE })!;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(type);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'self' https://engine.example.com");
    expect((await res.text()).length).toBeGreaterThan(100);
  });

  test("the page loads only its own script and style, and no inline code", async () => {
    const html = await serveAsset(get("/"), "/", { engineOrigins: ENGINE })!.text();
    expect(html).toContain('<script type="module" src="/console.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console.css">');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(html).not.toContain("{{ENGINE_ORIGINS}}");
  });

  test("the bundle contains noVNC's RFB client", async () => {
    const js = await serveAsset(get("/console.js"), "/console.js", { engineOrigins: [] })!.text();
    expect(js).toContain("novnc-proxy-ready");
    expect(js).toContain("securityfailure"); // an RFB event name
    expect(js).toContain("sendCtrlAltDel");
  });

  test("the page carries the engine origins in its meta tag", async () => {
    const origins = ["https://engine.example.com", "https://engine2.example.com:8443"];
    const html = await serveAsset(get("/console"), "/console", { engineOrigins: origins })!.text();
    expect(html).toContain('<meta name="novnc-engine-origins" content="https://engine.example.com https://engine2.example.com:8443">');
  });

  test("an origin with markup in it cannot break out of the attribute", () => {
    const html = renderPage(['https://x"><script>alert(1)</script>']);
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&#34;&#62;&#60;script&#62;");
  });

  test("escapeAttribute escapes every character that ends or opens markup", () => {
    expect(escapeAttribute(`&"'<>`)).toBe("&#38;&#34;&#39;&#60;&#62;");
  });

  test("HEAD answers the headers without a body", async () => {
    const res = serveAsset(get("/console.js", { method: "HEAD" }), "/console.js", { engineOrigins: [] })!;
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await res.text()).toBe("");
  });

  test("a matching If-None-Match gets 304", () => {
    const first = serveAsset(get("/console.css"), "/console.css", { engineOrigins: [] })!;
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = serveAsset(get("/console.css", { headers: { "if-none-match": etag } }), "/console.css", { engineOrigins: [] })!;
    expect(again.status).toBe(304);
  });

  test.each(["POST", "PUT", "DELETE", "OPTIONS"])("%s is not an asset request", (method) => {
    expect(serveAsset(get("/", { method }), "/", { engineOrigins: [] })).toBeNull();
  });

  test.each([
    "/index.html",
    "/Console.js",
    "/console.js/",
    "//console.js",
    "/console.js%00",
    "/console.js\0",
    "/%2e%2e/console.js",
    "/%2E%2E%2Fconsole.js",
    "/..%2fconsole.js",
    "/../console.js",
    "/./console.js",
    "/\\console.js",
    "/%5cconsole.js",
    "/%2fconsole.js",
    "/assets/dist/console.js",
    "/dist/console.js",
    "/node_modules/@novnc/novnc/core/rfb.js",
    "/etc/passwd",
    "/console.js.map",
    "/console.ts",
    "/console/",
    "/favicon.ico",
    "",
  ])("%j is not found", (path) => {
    expect(serveAsset(get("/"), path, { engineOrigins: [] })).toBeNull();
  });
});

describe("securityHeaders", () => {
  test("the policy allows only the proxy's own script, style and websocket", () => {
    const csp = contentSecurityPolicy([]);
    expect(csp.split("; ")).toEqual([
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "font-src 'self'",
      "object-src 'none'",
      "frame-ancestors 'self'",
      "base-uri 'none'",
      "form-action 'none'",
    ]);
  });

  test("an engine origin that is not a plain origin cannot add a directive", () => {
    const csp = contentSecurityPolicy(["https://ok.example.com", "https://x; script-src *", "https://y example"]);
    expect(csp).toContain("frame-ancestors 'self' https://ok.example.com;");
    expect(csp).not.toContain("script-src *");
    expect(csp).not.toContain("example;");
  });

  test("every response gets nosniff, no-referrer and no-cache", () => {
    expect(securityHeaders([])).toMatchObject({
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-cache",
    });
  });
});
