import { describe, expect, test } from "bun:test";
import { Metrics } from "../../src/server/metrics.ts";

const NOW = Date.UTC(2026, 0, 1);
const DAY = 24 * 3600 * 1000;

/** The value of one sample line, by its full name with labels. */
function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("Metrics.render", () => {
  test("counts sessions by outcome and bytes by direction", () => {
    const m = new Metrics();
    m.sessionsOpened = 3;
    m.closed("target_closed", 10, 100);
    m.closed("target_closed", 5, 50);
    m.closed("idle_timeout", 1, 0);
    const text = m.render(1, new Date(NOW + DAY), NOW);
    expect(sample(text, "novnc_proxy_sessions_open")).toBe(1);
    expect(sample(text, "novnc_proxy_sessions_opened_total")).toBe(3);
    expect(sample(text, 'novnc_proxy_sessions_closed_total{outcome="target_closed"}')).toBe(2);
    expect(sample(text, 'novnc_proxy_sessions_closed_total{outcome="idle_timeout"}')).toBe(1);
    expect(sample(text, 'novnc_proxy_bytes_total{direction="up"}')).toBe(16);
    expect(sample(text, 'novnc_proxy_bytes_total{direction="down"}')).toBe(150);
  });

  test("counts refusals by their code", () => {
    const m = new Metrics();
    m.refused("origin");
    m.refused("origin");
    m.refused("bad_ticket");
    const text = m.render(0, new Date(NOW), NOW);
    expect(sample(text, 'novnc_proxy_upgrade_refusals_total{reason="origin"}')).toBe(2);
    expect(sample(text, 'novnc_proxy_upgrade_refusals_total{reason="bad_ticket"}')).toBe(1);
  });

  test("histogram buckets are cumulative and end in +Inf, sum and count", () => {
    const m = new Metrics();
    for (const s of [0.002, 0.02, 3, 60]) m.handshake.observe(s);
    const text = m.render(0, new Date(NOW), NOW);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="0.001"}')).toBe(0);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="0.025"}')).toBe(2);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="5"}')).toBe(3);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="10"}')).toBe(3);
    expect(sample(text, 'novnc_proxy_upgrade_seconds_bucket{le="+Inf"}')).toBe(4);
    expect(sample(text, "novnc_proxy_upgrade_seconds_count")).toBe(4);
    expect(sample(text, "novnc_proxy_upgrade_seconds_sum")).toBeCloseTo(63.022, 6);
    expect(sample(text, "novnc_proxy_connect_seconds_count")).toBe(0);
  });

  test("certificate expiry is whole seconds from now, negative once expired", () => {
    const m = new Metrics();
    expect(sample(m.render(0, new Date(NOW + DAY + 999), NOW), "novnc_proxy_cert_expiry_seconds")).toBe(86400);
    expect(sample(m.render(0, new Date(NOW - 1000), NOW), "novnc_proxy_cert_expiry_seconds")).toBe(-1);
  });

  test("every sample has HELP and TYPE, and the text ends in a newline", () => {
    const text = new Metrics().render(0, new Date(NOW), NOW);
    expect(text.endsWith("\n")).toBe(true);
    const families = new Set(text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, "")));
    for (const f of families) {
      expect(text).toContain(`# HELP ${f} `);
      expect(text).toContain(`# TYPE ${f} `);
    }
  });
});
