/**
 * Counters for `/metrics` (Prometheus text format 0.0.4). Labels are fixed words (outcome,
 * refusal code, direction): never a ticket, address or target, so no label can leak a secret
 * or grow without bound.
 */

import type { Outcome } from "../relay/close.ts";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (seconds <= LATENCY_BUCKETS[i]!) this.counts[i]!++;
  }

  render(name: string, help: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    LATENCY_BUCKETS.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines;
  }
}


export class Metrics {
  sessionsOpened = 0;
  readonly sessionsClosed = new Map<Outcome, number>();
  bytesUp = 0;
  bytesDown = 0;
  /** Input messages view-only sessions dropped. */
  inputDropped = 0;
  readonly refusals = new Map<string, number>();
  readonly handshake = new Histogram();
  readonly connect = new Histogram();
  /** Sessions not recorded because the folder was over --record-max-total. */
  recordingsSkipped = 0;
  /** Round trips to the fleet store on the admission path (only with --store). */
  readonly store = new Histogram();

  closed(outcome: Outcome, up: number, down: number): void {
    this.sessionsClosed.set(outcome, (this.sessionsClosed.get(outcome) ?? 0) + 1);
    this.bytesUp += up;
    this.bytesDown += down;
  }

  refused(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  /** The exposition text; `open`, the cert expiry and the store state are read at scrape time. */
  render(open: number, certNotAfter: Date, now: number, store: "up" | "down" | null = null): string {
    const lines: string[] = [
      "# HELP novnc_proxy_sessions_open Console sessions open now.",
      "# TYPE novnc_proxy_sessions_open gauge",
      `novnc_proxy_sessions_open ${open}`,
      "# HELP novnc_proxy_sessions_opened_total Console sessions opened (upgrades accepted).",
      "# TYPE novnc_proxy_sessions_opened_total counter",
      `novnc_proxy_sessions_opened_total ${this.sessionsOpened}`,
      "# HELP novnc_proxy_sessions_closed_total Console sessions ended, by outcome.",
      "# TYPE novnc_proxy_sessions_closed_total counter",
      ...[...this.sessionsClosed].map(([o, n]) => `novnc_proxy_sessions_closed_total{outcome="${o}"} ${n}`),
      "# HELP novnc_proxy_bytes_total Bytes relayed by ended sessions (up = browser to VNC).",
      "# TYPE novnc_proxy_bytes_total counter",
      `novnc_proxy_bytes_total{direction="up"} ${this.bytesUp}`,
      `novnc_proxy_bytes_total{direction="down"} ${this.bytesDown}`,
      "# HELP novnc_proxy_input_dropped_total Input messages (key, pointer, clipboard, ...) view-only sessions dropped.",
      "# TYPE novnc_proxy_input_dropped_total counter",
      `novnc_proxy_input_dropped_total ${this.inputDropped}`,
      "# HELP novnc_proxy_upgrade_refusals_total Websocket upgrades refused, by reason.",
      "# TYPE novnc_proxy_upgrade_refusals_total counter",
      ...[...this.refusals].map(([r, n]) => `novnc_proxy_upgrade_refusals_total{reason="${r}"} ${n}`),
      ...this.handshake.render("novnc_proxy_upgrade_seconds", "Time from upgrade request to decision (ticket, policy, DNS)."),
      ...this.connect.render("novnc_proxy_connect_seconds", "Time to connect to the VNC server (and VeNCrypt, when used)."),
      "# HELP novnc_proxy_recordings_skipped_total Sessions not recorded because the recording folder was over --record-max-total.",
      "# TYPE novnc_proxy_recordings_skipped_total counter",
      `novnc_proxy_recordings_skipped_total ${this.recordingsSkipped}`,
      "# HELP novnc_proxy_cert_expiry_seconds Seconds until the served TLS certificate expires.",
      "# TYPE novnc_proxy_cert_expiry_seconds gauge",
      `novnc_proxy_cert_expiry_seconds ${Math.floor((certNotAfter.getTime() - now) / 1000)}`,
    ];
    if (store) {
      lines.push(
        "# HELP novnc_proxy_store_up Whether the fleet store (--store) answers: 1 up, 0 down.",
        "# TYPE novnc_proxy_store_up gauge",
        `novnc_proxy_store_up ${store === "up" ? 1 : 0}`,
        ...this.store.render("novnc_proxy_store_seconds", "Fleet store round trip of one admission (caps and single use)."),
      );
    }
    return lines.join("\n") + "\n";
  }
}
