/**
 * The results table: one row per metric, one column per contender, medians with min–max, the
 * ratios novnc-proxy / Bun relay (the product's own cost), novnc-proxy / websockify and novnc-proxy / ceiling, and the target. Rendered as
 * markdown (for the README) and as aligned text (for the terminal). Pure, no I/O.
 */
import { fmtRatio, fmtSummary, summarize, type Summary } from "./stats.ts";

export type ContenderId = "novnc" | "relay" | "websockify" | "direct" | "ceiling";

export const CONTENDER_LABELS: Record<ContenderId, string> = {
  novnc: "novnc-proxy",
  relay: "Bun relay (baseline)",
  websockify: "websockify",
  direct: "direct TCP",
  ceiling: "Bun wss (ceiling)",
};

/** One contender's result for one metric. */
export type Cell =
  | { kind: "samples"; samples: number[]; note?: string }
  | { kind: "error"; message: string }
  | { kind: "skipped"; why: string };

export interface Row {
  metric: string;
  /** What the issue asks of novnc-proxy, e.g. "≥ 1000, ≥ 75 % of ceiling". */
  target?: string;
  /** Whether novnc-proxy's median meets the target (given the ceiling's median, if any). */
  meets?: (novnc: number, ceiling: number) => boolean;
  /** For a target with several parts: the whole target cell, marks included. Overrides `target`. */
  verdict?: (novnc: number, ceiling: number) => string;
  cells: Partial<Record<ContenderId, Cell>>;
}

/** `label ✓` / `label ✗`, or the bare label when there is nothing to judge. */
export function mark(label: string, value: number, ok: (v: number) => boolean): string {
  return Number.isFinite(value) ? `${label} ${ok(value) ? "✓" : "✗"}` : label;
}

/** The median of a cell, NaN unless it has samples. */
export function cellMedian(cell: Cell | undefined): number {
  return cell?.kind === "samples" && cell.samples.length > 0 ? summarize(cell.samples).median : NaN;
}

function cellText(cell: Cell | undefined): string {
  if (!cell) return "—";
  if (cell.kind === "error") return `failed: ${cell.message}`;
  if (cell.kind === "skipped") return `— (${cell.why})`;
  if (cell.samples.length === 0) return cell.note ?? "—";
  const s: Summary = summarize(cell.samples);
  return cell.note ? `${fmtSummary(s)} ${cell.note}` : fmtSummary(s);
}

/** The table as rows of strings (header first). */
export function tableCells(rows: readonly Row[], columns: readonly ContenderId[]): string[][] {
  const header = ["Metric", ...columns.map((c) => CONTENDER_LABELS[c]), "novnc / relay", "novnc / websockify", "novnc / ceiling", "Target (novnc-proxy)"];
  const out = [header];
  for (const r of rows) {
    const n = cellMedian(r.cells.novnc);
    const b = cellMedian(r.cells.relay);
    const w = cellMedian(r.cells.websockify);
    const c = cellMedian(r.cells.ceiling);
    let target = r.target ?? "";
    if (r.target && r.meets && Number.isFinite(n)) target += r.meets(n, c) ? " ✓" : " ✗";
    if (r.verdict) target = r.verdict(n, c);
    out.push([r.metric, ...columns.map((col) => cellText(r.cells[col])), fmtRatio(n, b), fmtRatio(n, w), fmtRatio(n, c), target]);
  }
  return out;
}

const escapeMd = (s: string): string => s.replace(/\|/g, "\\|");

/** GitHub markdown table. */
export function renderMarkdown(cells: string[][]): string {
  const [header, ...body] = cells;
  const line = (r: string[]) => `| ${r.map(escapeMd).join(" | ")} |`;
  return [line(header!), `|${header!.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`, ...body.map(line)].join("\n");
}

/** Plain aligned columns for the terminal. */
export function renderText(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? "")].length)));
  const pad = (s: string, w: number, left: boolean) => {
    const fill = " ".repeat(Math.max(0, w - [...s].length));
    return left ? s + fill : fill + s;
  };
  return cells.map((r) => r.map((s, i) => pad(s, widths[i]!, i === 0)).join("  ")).join("\n");
}
