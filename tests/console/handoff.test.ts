import { describe, expect, test } from "bun:test";
import {
  clearTicketCookie,
  clearLegacyTicketCookie,
  isEngineOrigin,
  normaliseOrigin,
  parseEngineOrigins,
  parseHandoff,
  readParams,
  secondsLeft,
  ticketCookie,
  ticketValidTo,
  websocketUrl,
} from "../../assets/console/handoff.ts";

const HERE = { hostname: "proxy.example.com", port: "6100" };
const ticketWith = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields)).toString("base64");

describe("readParams", () => {
  test("reads oVirt's host, port and title", () => {
    expect(readParams("?host=ws.example.com&port=6100&title=web01%20(prod)", HERE)).toEqual({
      host: "ws.example.com",
      port: "6100",
      title: "web01 (prod)",
      viewOnly: false,
      scale: "fit",
    });
  });

  test("defaults host and port to the page's own location", () => {
    expect(readParams("", HERE)).toMatchObject({ host: "proxy.example.com", port: "6100", title: null });
    expect(readParams("", { hostname: "p", port: "" }).port).toBe("443");
  });

  test.each([
    ["view_only=1", true],
    ["view_only=true", true],
    ["view_only=0", false],
    ["view_only=no", false],
  ])("%s sets viewOnly %p", (q, viewOnly) => {
    expect(readParams(`?${q}`, HERE).viewOnly).toBe(viewOnly);
  });

  test.each([
    ["", "fit"],
    ["scale=fit", "fit"],
    ["scale=true", "fit"],
    ["scale=remote", "remote"],
    ["scale=resize", "remote"],
    ["scale=none", "none"],
    ["scale=false", "none"],
    ["scale=1:1", "none"],
  ])("%j selects scale %s", (q, scale) => {
    expect(readParams(`?${q}`, HERE).scale).toBe(scale as never);
  });
});

describe("engine origins", () => {
  test("the meta tag lists origins separated by spaces, normalised as browsers send them", () => {
    expect(parseEngineOrigins("https://Engine.Example.com:443  http://127.0.0.1:8080 https://engine.example.com")).toEqual([
      "https://engine.example.com",
      "http://127.0.0.1:8080",
    ]);
  });

  test.each(["", "null", "engine.example.com", "https://e.example.com/path", "javascript:alert(1)", "https://user@e.example.com", "ftp://e.example.com"])(
    "%j is not an origin",
    (text) => {
      expect(normaliseOrigin(text)).toBeNull();
    },
  );

  test("only an exact engine origin passes", () => {
    const engines = ["https://engine.example.com"];
    expect(isEngineOrigin("https://engine.example.com", engines)).toBe(true);
    expect(isEngineOrigin("https://engine.example.com:8443", engines)).toBe(false);
    expect(isEngineOrigin("http://engine.example.com", engines)).toBe(false);
    expect(isEngineOrigin("https://evil.engine.example.com", engines)).toBe(false);
    expect(isEngineOrigin("null", ["null"])).toBe(false);
  });
});

describe("parseHandoff", () => {
  test("accepts oVirt's {connectionTicket, password}", () => {
    expect(parseHandoff({ connectionTicket: "eyJhIjoxfQ==", password: "pw" })).toEqual({ kind: "path", ticket: "eyJhIjoxfQ==", password: "pw" });
  });

  test("accepts the cookie form {cookieTicket, password}", () => {
    expect(parseHandoff({ cookieTicket: "eyJhIjoxfQ==", password: "pw" })).toEqual({ kind: "cookie", ticket: "eyJhIjoxfQ==", password: "pw" });
  });

  test("a missing password is null (the page asks for it if the VM wants one)", () => {
    expect(parseHandoff({ connectionTicket: "abc" })).toEqual({ kind: "path", ticket: "abc", password: null });
  });

  test.each([
    null,
    undefined,
    "eyJhIjoxfQ==",
    42,
    {},
    { type: "novnc-proxy-ready" },
    { connectionTicket: "" },
    { connectionTicket: 5 },
    { connectionTicket: "has space" },
    { connectionTicket: "line\nbreak" },
    { connectionTicket: "x".repeat(16385) },
    { cookieTicket: "a;b c" },
  ])("rejects %j", (data) => {
    expect(parseHandoff(data)).toBeNull();
  });
});

describe("ticket validity", () => {
  test("validTo is read as UTC", () => {
    expect(ticketValidTo(ticketWith({ validTo: "20250102030405" }))?.toISOString()).toBe("2025-01-02T03:04:05.000Z");
  });

  test.each(["not base64!", ticketWith({}), ticketWith({ validTo: 20250102030405 }), ticketWith({ validTo: "2025-01-02" }), btoa("[1,2]"), btoa("null")])(
    "%j has no readable validTo",
    (t) => {
      expect(ticketValidTo(t)).toBeNull();
    },
  );

  test("seconds left count down to zero, never below", () => {
    const t = ticketWith({ validTo: "20250102030405" });
    expect(secondsLeft(t, new Date("2025-01-02T03:02:05Z"))).toBe(120);
    expect(secondsLeft(t, new Date("2025-01-02T03:05:05Z"))).toBe(0);
    expect(secondsLeft("garbage", new Date(), 90)).toBe(90);
  });
});

describe("cookie and websocket URL", () => {
  test("the cookie is Secure, SameSite=Strict, Path=/ and lives as long as the ticket", () => {
    expect(ticketCookie("ab+/cd==", 118)).toBe("__Host-novnc-ticket=ab+/cd==; Secure; SameSite=Strict; Path=/; Max-Age=118");
    expect(ticketCookie("t", -5)).toContain("Max-Age=0");
    expect(clearTicketCookie()).toBe("__Host-novnc-ticket=; Secure; SameSite=Strict; Path=/; Max-Age=0");
    expect(clearLegacyTicketCookie()).toBe("novnc-ticket=; Secure; SameSite=Strict; Path=/; Max-Age=0");
  });

  test("the ticket goes in the path as is; the cookie form has an empty path", () => {
    const params = { host: "ws.example.com", port: "6100" };
    expect(websocketUrl(params, { kind: "path", ticket: "ab+/c=" })).toBe("wss://ws.example.com:6100/ab+/c=");
    expect(websocketUrl(params, { kind: "cookie", ticket: "ab+/c=" })).toBe("wss://ws.example.com:6100/");
  });

  test("an IPv6 host is bracketed", () => {
    expect(websocketUrl({ host: "fd00::1", port: "6100" }, { kind: "cookie", ticket: "x" })).toBe("wss://[fd00::1]:6100/");
    expect(websocketUrl({ host: "[fd00::1]", port: "6100" }, { kind: "cookie", ticket: "x" })).toBe("wss://[fd00::1]:6100/");
  });
});
