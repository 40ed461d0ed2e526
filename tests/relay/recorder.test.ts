/** The --record-max-total budget: one folder scan per interval, plus the bytes recorders write meanwhile. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Recorder, RecordingsBudget, DIRECTION_DOWN } from "../../src/relay/recorder.ts";

const dirs: string[] = [];
const folder = (): string => {
  const d = mkdtempSync(join(tmpdir(), "novnc-budget-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("RecordingsBudget", () => {
  test("counts the folder's *.rec bytes at the first look, and nothing else", () => {
    const dir = folder();
    writeFileSync(join(dir, "a.rec"), new Uint8Array(100));
    writeFileSync(join(dir, "notes.txt"), new Uint8Array(1000));
    expect(new RecordingsBudget(dir).used()).toBe(100);
  });

  test("between scans, files appearing on disk are not read again; bytes written through it are added", () => {
    const dir = folder();
    let now = 0;
    const budget = new RecordingsBudget(dir, 60_000, () => now);
    expect(budget.used()).toBe(0);
    writeFileSync(join(dir, "b.rec"), new Uint8Array(500));
    budget.add(70);
    now = 59_999;
    expect(budget.used()).toBe(70);
    now = 60_000;
    // The rescan sees the file; what was added before it is now on disk (or was not ours).
    expect(budget.used()).toBe(500);
  });

  test("a recorder tells its budget every byte it writes, header included", async () => {
    const dir = folder();
    const budget = new RecordingsBudget(dir);
    expect(budget.used()).toBe(0);
    const rec = new Recorder(dir, "s1", { session: "s1" }, 1 << 20, budget);
    const afterHeader = budget.used();
    expect(afterHeader).toBeGreaterThan(0);
    rec.write(DIRECTION_DOWN, new TextEncoder().encode("RFB 003.008\n"));
    expect(budget.used()).toBe(afterHeader + 9 + 12);
    rec.close();
    await Bun.sleep(50);
    expect(new RecordingsBudget(dir).used()).toBe(budget.used());
  });

  test("a folder that cannot be read throws (the caller warns and records nothing)", () => {
    expect(() => new RecordingsBudget(join(folder(), "missing")).used()).toThrow();
  });
});
