/**
 * `npm run build`: bundle the console page, then compile one self-contained executable
 * (dist/novnc-proxy) that embeds it. Nothing is read from the source tree at run time.
 */
import { $ } from "bun";
import { buildAssets } from "./build-assets.ts";

const root = new URL("..", import.meta.url).pathname;
const started = performance.now();
await buildAssets();
const target = process.env.NOVNC_PROXY_TARGET; // e.g. bun-linux-arm64 for cross builds
const r = await $`${process.execPath} build ${root}src/cli.ts --compile --minify --bytecode --format=esm --sourcemap=none ${target ? ["--target", target] : []} --outfile ${root}dist/novnc-proxy`
  .quiet()
  .nothrow();
if (r.exitCode !== 0) {
  process.stderr.write(r.stderr.toString());
  console.error("build failed");
  process.exit(1);
}
const size = Bun.file(`${root}dist/novnc-proxy`).size;
console.log(`dist/novnc-proxy ${(size / 1048576).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
