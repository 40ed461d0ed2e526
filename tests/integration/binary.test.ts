/**
 * The compiled binary is the whole product: copied alone into an empty folder (and run from
 * there, with the source tree out of reach), it serves the console page and its assets.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "../helpers/proxy.ts";

let dir: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "novnc-alone-"));
  bin = join(dir, "novnc-proxy");
  copyFileSync(BINARY, bin);
  chmodSync(bin, 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([bin, ...args], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin", HOME: dir } });
  const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out: out + err };
}

test("--version and --help work with nothing else around", async () => {
  const v = await run(["--version"]);
  expect(v.code).toBe(0);
  expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
  const h = await run(["serve", "--help"]);
  expect(h.code).toBe(0);
  expect(h.out).toContain("--engine-cert");
});

test("serve --self-signed from an empty folder serves the embedded console page and script", async () => {
  const p = Bun.spawn([bin, "serve", "--self-signed", "--allow-unsigned", "--listen", "127.0.0.1:0"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: "/usr/bin:/bin", HOME: dir, NOVNC_PROXY_LOG_LEVEL: "info" },
  });
  try {
    let text = "";
    const dec = new TextDecoder();
    const reader = p.stdout.getReader();
    const deadline = Date.now() + 10_000;
    let port = 0;
    while (!port && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
      port = Number(/https:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0);
    }
    expect(port).toBeGreaterThan(0);
    const opts = { tls: { rejectUnauthorized: false } } as RequestInit;
    const page = await fetch(`https://127.0.0.1:${port}/`, opts);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("console.js");
    const js = await fetch(`https://127.0.0.1:${port}/console.js`, opts);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(50_000); // noVNC is bundled in
    expect((await fetch(`https://127.0.0.1:${port}/package.json`, opts)).status).toBe(404);
  } finally {
    p.kill("SIGTERM");
    await p.exited;
  }
});
