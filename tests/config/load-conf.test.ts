import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConf, readSettings } from "../../src/config/load-conf.ts";
import { SETTINGS } from "../../src/config/schema.ts";
import { ConfigError } from "../../src/errors.ts";

let root: string;
let n = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "novnc-conf-"));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Makes a fresh layout: `{ "": main text, "10-a.conf": drop-in text, ... }`; returns the main path. */
function layout(files: Record<string, string>): string {
  const dir = join(root, String(n++));
  mkdirSync(join(dir, "proxy.conf.d"), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(name === "" ? join(dir, "proxy.conf") : join(dir, "proxy.conf.d", name), text);
  }
  return join(dir, "proxy.conf");
}

describe("loadConf", () => {
  test("reads FILE then FILE.d/*.conf in name order, the last value winning", () => {
    const main = layout({
      "": "A=main\nB=main\nC=main\n",
      "20-b.conf": "B=twenty\nC=twenty\n",
      "10-a.conf": "A=ten\nB=ten\n",
      "30-c.conf": "C=thirty\n",
    });
    const r = loadConf(main);
    expect(r.files).toEqual([main, `${main}.d/10-a.conf`, `${main}.d/20-b.conf`, `${main}.d/30-c.conf`]);
    expect(r.values.get("A")).toEqual({ value: "ten", file: `${main}.d/10-a.conf`, line: 1 });
    expect(r.values.get("B")).toEqual({ value: "twenty", file: `${main}.d/20-b.conf`, line: 1 });
    expect(r.values.get("C")).toEqual({ value: "thirty", file: `${main}.d/30-c.conf`, line: 1 });
  });

  test("name order is plain byte order: 10-x.conf sorts before 9-x.conf", () => {
    const main = layout({ "": "", "9-x.conf": "K=nine\n", "10-x.conf": "K=ten\n", "A.conf": "K=upper\n", "a.conf": "K=lower\n" });
    expect(loadConf(main).files.map((f) => f.split("/").pop())).toEqual(["proxy.conf", "10-x.conf", "9-x.conf", "A.conf", "a.conf"]);
    expect(loadConf(main).values.get("K")?.value).toBe("lower");
  });

  test("files not ending in .conf, hidden files and directories in FILE.d are skipped", () => {
    const main = layout({ "": "K=main\n", "10-x.conf.rpmnew": "K=rpmnew\n", "README": "K=readme\n", ".20-hidden.conf": "K=hidden\n" });
    mkdirSync(`${main}.d/30-dir.conf`);
    const r = loadConf(main);
    expect(r.files).toEqual([main]);
    expect(r.values.get("K")?.value).toBe("main");
  });

  test("a drop-in can expand keys from the main file", () => {
    const main = layout({ "": "PKI=/etc/pki/ovirt-engine\n", "10-setup.conf": "SSL_CERTIFICATE=${PKI}/certs/websocket-proxy.cer\n" });
    expect(loadConf(main).values.get("SSL_CERTIFICATE")?.value).toBe("/etc/pki/ovirt-engine/certs/websocket-proxy.cer");
  });

  test("a syntax error names the file and line, with a count of the others", () => {
    const main = layout({ "": "A=1\n", "10-setup.conf": "# setup\nPROXY_PORT=6100\nSSL_KEY=\"/x\n", "20-x.conf": "bad line\n" });
    expect(() => loadConf(main)).toThrow(new ConfigError(`${main}.d/10-setup.conf:3: SSL_KEY: unterminated double quote (and 1 more error)`));
  });

  test("an explicit file that does not exist is an error", () => {
    expect(() => loadConf(join(root, "nope.conf"))).toThrow(`config ${join(root, "nope.conf")}: no such file`);
  });

  test("an explicit file that is a directory is an error", () => {
    expect(() => loadConf(root)).toThrow("is a directory");
  });

  test("with only FILE.d present (as engine-setup leaves it), the drop-ins are read", () => {
    const main = layout({ "10-setup.conf": "PROXY_PORT=6100\n" });
    expect(loadConf(main).files).toEqual([`${main}.d/10-setup.conf`]);
    expect(loadConf(undefined, main).values.get("PROXY_PORT")?.value).toBe("6100");
  });

  test("the default file is read when it exists and skipped silently when it does not", () => {
    const main = layout({ "": "PROXY_PORT=6101\n" });
    expect(loadConf(undefined, main).values.get("PROXY_PORT")?.value).toBe("6101");
    expect(loadConf(undefined, join(root, "absent.conf"))).toEqual({ files: [], values: new Map() });
  });

  test("--config wins over the default file", () => {
    const def = layout({ "": "PROXY_PORT=1\n" });
    const mine = layout({ "": "PROXY_PORT=2\n" });
    expect(loadConf(mine, def).values.get("PROXY_PORT")?.value).toBe("2");
  });
});

describe("readSettings: which config file", () => {
  const absent = () => join(root, "absent.conf");
  test.each([
    [["--config", "/a"], {}, "/a"],
    [["--config=/a"], {}, "/a"],
    [[], { NOVNC_PROXY_CONFIG: "/env" }, "/env"],
    [["--config", "/a"], { NOVNC_PROXY_CONFIG: "/env" }, "/a"],
  ])("%j with env %j reads %p", (raw, env, expected) => {
    expect(() => readSettings(SETTINGS, raw, env, absent())).toThrow(`config ${expected}: no such file`);
  });

  test("no --config and no default file: nothing read", () => {
    expect(readSettings(SETTINGS, ["--listen", "1"], {}, absent()).files).toEqual([]);
  });

  test.each([[["--config"]], [["--config", "--listen"]], [["--config="]]])("%p is an error", (raw) => {
    expect(() => readSettings(SETTINGS, raw, {}, absent())).toThrow(/--config=? needs a (file|value)/);
  });

  test("--config given twice is an error", () => {
    expect(() => readSettings(SETTINGS, ["--config", "/a", "--config=/b"], {}, absent())).toThrow("--config given twice");
  });
});

describe("readSettings", () => {
  test("reads the named files and resolves them with env and flags", () => {
    const main = layout({ "": "PROXY_HOST=*\n", "10-setup.conf": "PROXY_PORT=6100\nSSL_CIPHERS=HIGH\n" });
    const r = readSettings(SETTINGS, ["--config", main], { NOVNC_PROXY_CIPHERS: "ENV" }, join(root, "absent.conf"));
    expect(r.files).toEqual([main, `${main}.d/10-setup.conf`]);
    expect(r.values.listen).toEqual({ hostname: "0.0.0.0", port: 6100 });
    expect(r.sources.listen).toBe(`${main}:1, ${main}.d/10-setup.conf:1`);
    expect(r.values.ciphers).toBe("ENV");
    expect(r.sources.config).toBe("flag");
    expect(r.confBase).toBe(main);
  });
});
