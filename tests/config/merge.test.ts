import { describe, expect, test } from "bun:test";
import { canonicalFlags, parseArgv } from "../../src/config/argv.ts";
import { compileSettings } from "../../src/config/compile.ts";
import { mergeSettings, splitList } from "../../src/config/merge.ts";
import { parseConf } from "../../src/config/ovirt-conf.ts";
import { envNameOf, pickSettings, SETTINGS, toggle, type SettingDef } from "../../src/config/schema.ts";
import { BadValue } from "../../src/config/values.ts";
import { ConfigError } from "../../src/errors.ts";

/** Merges with a config text as one file named `f.conf`. */
function resolve(text: string, rawArgs: string[] = [], env: Record<string, string> = {}) {
  const parsed = parseConf(text, "f.conf");
  expect(parsed.errors).toEqual([]);
  return mergeSettings({ table: SETTINGS, flags: parseArgv(SETTINGS, rawArgs), env, conf: parsed.values });
}

/** The cross-setting rules only (they throw before any file is read). */
const compile = (r: ReturnType<typeof resolve>) => compileSettings(r, {});

const SETUP_CONF = [
  "PROXY_PORT=6100",
  "SSL_CERTIFICATE=/etc/pki/ovirt-engine/certs/websocket-proxy.cer",
  "SSL_KEY=/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass",
  "CERT_FOR_DATA_VERIFICATION=/etc/pki/ovirt-engine/certs/engine.cer",
  "SSL_ONLY=True",
].join("\n");

describe("oVirt keys map to settings", () => {
  test("engine-setup's 10-setup.conf becomes listen, cert, key and engine-cert with no warnings", () => {
    const r = resolve(SETUP_CONF);
    expect(r.warnings).toEqual([]);
    expect(r.values.listen).toEqual({ hostname: "0.0.0.0", port: 6100 });
    expect(r.values.cert).toBe("/etc/pki/ovirt-engine/certs/websocket-proxy.cer");
    expect(r.values.key).toBe("/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass");
    expect(r.values["engine-cert"]).toBe("/etc/pki/ovirt-engine/certs/engine.cer");
    expect(r.sources).toMatchObject({ listen: "f.conf:1", cert: "f.conf:2", key: "f.conf:3", "engine-cert": "f.conf:4", "tls-min": "default" });
  });

  test.each([
    ["PROXY_HOST=*\nPROXY_PORT=6100", { hostname: "0.0.0.0", port: 6100 }, "f.conf:1, f.conf:2"],
    ["PROXY_HOST=*\nPROXY_PORT=6100\nSOURCE_IS_IPV6=True", { hostname: "::", port: 6100 }, "f.conf:1, f.conf:2, f.conf:3"],
    ["PROXY_PORT=7000\nSOURCE_IS_IPV6=yes", { hostname: "::", port: 7000 }, "f.conf:1, f.conf:2"],
    ["PROXY_HOST=*\nSOURCE_IS_IPV6=False", { hostname: "0.0.0.0", port: 6100 }, "f.conf:1"],
    ["PROXY_HOST=192.0.2.7", { hostname: "192.0.2.7", port: 6100 }, "f.conf:1"],
    ["PROXY_HOST=proxy.example\nPROXY_PORT=443", { hostname: "proxy.example", port: 443 }, "f.conf:1, f.conf:2"],
    ["PROXY_HOST=::1\nPROXY_PORT=6100\nSOURCE_IS_IPV6=1", { hostname: "::1", port: 6100 }, "f.conf:1, f.conf:2"],
  ])("%p listens on %p", (text, listen, source) => {
    const r = resolve(text);
    expect(r.values.listen).toEqual(listen);
    expect(r.sources.listen).toBe(source);
  });

  test("SOURCE_IS_IPV6 alone sets no listen address", () => {
    expect(resolve("SOURCE_IS_IPV6=True").sources.listen).toBe("default");
  });

  test.each([
    ["TLSv1.2", "1.2"],
    ["TLSv1.3", "1.3"],
    ["tlsv1.3", "1.3"],
    ["TLSv1_2", "1.2"],
  ])("SSL_MIN_VERSION=%s is --tls-min %s", (v, flag) => {
    expect(resolve(`SSL_MIN_VERSION=${v}`).values["tls-min"]).toBe(flag as "1.2");
  });

  test("SSL_CIPHERS is passed through as --ciphers, a leading dash included", () => {
    expect(resolve("SSL_CIPHERS=HIGH:!aNULL").values.ciphers).toBe("HIGH:!aNULL");
    expect(resolve("SSL_CIPHERS=-ALL:ECDHE+AESGCM").values.ciphers).toBe("-ALL:ECDHE+AESGCM");
  });

  test("an empty SSL_KEY means the key is in the certificate file", () => {
    const r = resolve("SSL_CERTIFICATE=/x/both.pem\nSSL_KEY=\nCERT_FOR_DATA_VERIFICATION=/x/e.cer");
    expect(r.values.key).toBeUndefined();
    expect(r.sources.key).toBe("default");
  });

  test("upstream's default file (empty values, False flags, PACKAGE_*) is read without warnings", () => {
    const r = resolve(
      [
        'PACKAGE_NAME="ovirt-engine"',
        'PACKAGE_VERSION="4.5.6"',
        "PROXY_HOST=*",
        "PROXY_PORT=6100",
        "SOURCE_IS_IPV6=False",
        "SSL_CERTIFICATE=",
        "SSL_KEY=",
        "CERT_FOR_DATA_VERIFICATION=",
        "SSL_ONLY=True",
        "TRACE_ENABLE=False",
        "TRACE_FILE=",
        'ENGINE_USR="/usr/share/ovirt-engine"',
        "FORCE_DATA_VERIFICATION=True",
      ].join("\n"),
    );
    expect(r.warnings).toEqual([]);
    expect(r.values.cert).toBeUndefined();
  });

  test.each([
    ["SSL_ONLY=False", "f.conf:1: SSL_ONLY=False: plaintext is not supported"],
    ["SSL_ONLY=no", "plaintext is not supported"],
    ["TRACE_ENABLE=True\nTRACE_FILE=/tmp/trace", "f.conf:1: TRACE_ENABLE: upstream's Python trace has no equivalent"],
    ["FOO=1", "f.conf:1: unknown key FOO, ignored"],
    ["PROXY_PORT=6100\nSSL_CERTFICATE=/x", "f.conf:2: unknown key SSL_CERTFICATE, ignored"],
  ])("oVirt's namespace: %p warns %p", (text, warning) => {
    const r = resolve(text);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(warning);
  });

  test.each([
    ["PROXY_PORT=http", 'f.conf:1: PROXY_PORT "http": expected a port number'],
    ["PROXY_PORT=70000", "f.conf:1: PROXY_PORT"],
    ["\nSSL_MIN_VERSION=TLSv1.1", 'f.conf:2: SSL_MIN_VERSION "TLSv1.1": expected TLSv1.2 or TLSv1.3'],
    ["\n\nNOVNC_PROXY_LISTN=1", "f.conf:3: unknown key NOVNC_PROXY_LISTN (did you mean NOVNC_PROXY_LISTEN?)"],
    ["NOVNC_PROXY_CONFIG=/x", "f.conf:1: NOVNC_PROXY_CONFIG cannot be set in a config file (flag or env only)"],
    ["NOVNC_PROXY_REQUIRE_ORIGIN=maybe", 'f.conf:1: NOVNC_PROXY_REQUIRE_ORIGIN "maybe": expected true or false'],
    ["NOVNC_PROXY_CLOCK_SKEW=5s", 'f.conf:1: NOVNC_PROXY_CLOCK_SKEW "5s": expected a whole number from 0 to 3600'],
    ["NOVNC_PROXY_ENGINE_ORIGIN=https://e.example/path", 'f.conf:1: NOVNC_PROXY_ENGINE_ORIGIN "https://e.example/path": expected scheme://host[:port]'],
    ["CERT_FOR_DATA_VERIFICATION=/e.cer\nNOVNC_PROXY_ALLOW=10.0.0.1/8", 'f.conf:2: NOVNC_PROXY_ALLOW "10.0.0.1/8": host bits set'],
  ])("%p is a config error naming file and line: %p", (text, message) => {
    expect(() => resolve(text)).toThrow(ConfigError);
    expect(() => resolve(text)).toThrow(message);
  });
});

describe("our NOVNC_PROXY_* keys", () => {
  test("every setting that may be in a file has a key named after it", () => {
    expect(envNameOf("engine-cert")).toBe("NOVNC_PROXY_ENGINE_CERT");
    const r = resolve(
      [
        "NOVNC_PROXY_LISTEN=127.0.0.1:7000",
        "NOVNC_PROXY_SELF_SIGNED=yes",
        "NOVNC_PROXY_ALLOW_UNSIGNED=true",
        "NOVNC_PROXY_CLOCK_SKEW=30",
        "NOVNC_PROXY_ENGINE_ORIGIN=https://engine.example",
        "NOVNC_PROXY_REQUIRE_ORIGIN=0",
      ].join("\n"),
    );
    expect(r.warnings).toEqual([]);
    expect(r.values).toMatchObject({
      listen: { hostname: "127.0.0.1", port: 7000 },
      "self-signed": true,
      "allow-unsigned": true,
      "clock-skew": 30,
      "require-origin": false,
      "engine-origin": ["https://engine.example"],
    });
    expect(r.sources["require-origin"]).toBe("f.conf:6");
  });

  test("our key beats the oVirt key for the same setting, wherever it is", () => {
    const r = resolve("NOVNC_PROXY_LISTEN=127.0.0.1:7000\nPROXY_PORT=6100\nNOVNC_PROXY_TLS_MIN=1.3\nSSL_MIN_VERSION=TLSv1.2");
    expect(r.values.listen).toEqual({ hostname: "127.0.0.1", port: 7000 });
    expect(r.values["tls-min"]).toBe("1.3");
    expect(r.sources.listen).toBe("f.conf:1");
  });

  test("a repeatable setting's key is a comma or space list", () => {
    const r = resolve('NOVNC_PROXY_ALLOW="10.0.0.0/8:5900-5999,5901 192.0.2.1, host.example:5900,5901,6000-6010"');
    expect(r.values.allow).toEqual(["10.0.0.0/8:5900-5999,5901", "192.0.2.1", "host.example:5900,5901,6000-6010"]);
  });
});

/** One sample text per setting that is not a switch, and its parsed value. */
const SAMPLES: Record<string, [string, unknown]> = {
  listen: ["127.0.0.1:7000", { hostname: "127.0.0.1", port: 7000 }],
  "tls-min": ["1.3", "1.3"],
  "clock-skew": ["9", 9],
  "connect-timeout": ["3", 3],
  "max-sessions": ["11", 11],
  "max-sessions-per-ip": ["12", 12],
  "max-sessions-per-ticket": ["13", 13],
  "idle-timeout": ["14", 14],
  "session-limit": ["15", 15],
  "max-message": ["2048", 2048],
  "drain-timeout": ["16", 16],
  "ipv6-prefix": ["56", 56],
  "refusal-log-limit": ["17", 17],
  "record-max-bytes": ["2MiB", 2 * 1024 * 1024],
  "record-max-total": ["3g", 3 * 1024 ** 3],
  "log-format": ["json", "json"],
  "log-level": ["debug", "debug"],
  allow: ["10.0.0.0/8", ["10.0.0.0/8"]],
  origin: ["https://a.example", ["https://a.example"]],
  "engine-origin": ["https://e.example", ["https://e.example"]],
  "trusted-proxy": ["10.1.0.0/16", ["10.1.0.0/16"]],
  "metrics-allow": ["127.0.0.1", ["127.0.0.1"]],
  store: ["redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2"],
};
const sample = (name: string): [string, unknown] => SAMPLES[name] ?? ["/some/value", "/some/value"];
const names = Object.keys(SETTINGS) as (keyof typeof SETTINGS)[];
const valueNames = names.filter((n) => SETTINGS[n].kind === "string");
const switchNames = names.filter((n) => SETTINGS[n].kind === "boolean");
const fileNames = names.filter((n) => !("notInFiles" in SETTINGS[n]));
const camel = (n: string) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

describe("every setting from every source", () => {
  test.each(valueNames)("--%s from a flag, env and a file gives the same typed value", (name) => {
    const [text, value] = sample(name);
    const fromFlag = resolve("", [`--${name}`, text]);
    expect(fromFlag.values[name]).toEqual(value as never);
    expect(fromFlag.sources[name]).toBe("flag");
    const fromEnv = resolve("", [], { [envNameOf(name)]: text });
    expect(fromEnv.values[name]).toEqual(value as never);
    expect(fromEnv.sources[name]).toBe(`env ${envNameOf(name)}`);
    if (fileNames.includes(name)) {
      const fromFile = resolve(`${envNameOf(name)}=${text}`);
      expect(fromFile.values[name]).toEqual(value as never);
      expect(fromFile.sources[name]).toBe("f.conf:1");
    }
  });

  test.each(switchNames)("--%s: flag, --no-, env and file words", (name) => {
    expect(resolve("", [`--${name}`]).values[name]).toBe(true);
    expect(resolve("", [`--no-${name}`], { [envNameOf(name)]: "yes" }).values[name]).toBe(false);
    expect(resolve("", [], { [envNameOf(name)]: "True" }).values[name]).toBe(true);
    if (fileNames.includes(name)) expect(resolve(`${envNameOf(name)}=1`).values[name]).toBe(true);
    expect(() => resolve("", [], { [envNameOf(name)]: "maybe" })).toThrow(`env ${envNameOf(name)} "maybe": expected true or false`);
  });

  test.each(names)("--%s in camelCase, snake_case and =value spellings means the same setting", (name) => {
    const [text, value] = sample(name);
    const kebab = SETTINGS[name].kind === "boolean" ? [`--${name}`] : [`--${name}`, text];
    const want = resolve("", kebab).values[name];
    expect(want).toEqual((SETTINGS[name].kind === "boolean" ? true : value) as never);
    for (const spelling of [camel(name), name.replace(/-/g, "_")]) {
      const args = SETTINGS[name].kind === "boolean" ? [`--${spelling}`] : [`--${spelling}=${text}`];
      const r = resolve("", args);
      expect(r.values[name]).toEqual(want as never);
      expect(r.sources[name]).toBe("flag");
    }
  });

  test("camelCase flags beat the config file as the kebab-case ones do", () => {
    const r = resolve(SETUP_CONF, ["--engineCert", "/mine.cer", "--trustedProxy", "10.0.0.1", "--metricsAllow", "127.0.0.1"]);
    expect(r.values["engine-cert"]).toBe("/mine.cer");
    expect(r.values["trusted-proxy"]).toEqual(["10.0.0.1"]);
    expect(r.values["metrics-allow"]).toEqual(["127.0.0.1"]);
  });
});

describe("mistakes are errors", () => {
  test.each([
    [["--alow", "10.0.0.0/8"], "unknown flag --alow (did you mean --allow?)"],
    [["--engine-cer", "x"], "unknown flag --engine-cer (did you mean --engine-cert?)"],
    [["--trustedProxi", "x"], "unknown flag --trustedProxi (did you mean --trusted-proxy?)"],
    [["--frobnicate"], "unknown flag --frobnicate"],
    [["-x"], "unknown flag -x"],
    [["listen"], 'unexpected argument "listen"'],
    [["--listen"], "--listen needs a value"],
    [["--listen", "--cert", "x"], "--listen needs a value"],
    [["--cert="], "--cert= needs a value (file)"],
    [["--listen", "1", "--listen", "2"], "--listen given twice"],
    [["--no-listen"], "unknown flag --no-listen (did you mean --listen?)"],
    [["--single-use=maybe"], "--single-use is a switch"],
    [["--clock-skew", "-1"], '--clock-skew "-1": expected a whole number from 0 to 3600'],
    [["--tls-min", "1.1"], '--tls-min "1.1": expected 1.2 or 1.3'],
    [["--log-level", "loud"], '--log-level "loud": expected silent, error, warn, info or debug'],
    [["--origin", "https://a.example/path"], '--origin "https://a.example/path": expected scheme://host[:port]'],
    [["--engine-origin", "e.example"], '--engine-origin "e.example": expected scheme://host[:port]'],
    [["--trusted-proxy", "10.0.0.1/8"], '--trusted-proxy "10.0.0.1/8": host bits set'],
    [["--metrics-allow", "localhost"], '--metrics-allow "localhost": "localhost" is not a canonical IP address'],
    [["--allow", "10.0.0.0/8:99999"], '--allow "10.0.0.0/8:99999"'],
    [["--listen", "nonsense:port"], '--listen "nonsense:port": expected [HOST:]PORT'],
  ])("%j: %p", (args, message) => {
    expect(() => resolve("", args)).toThrow(ConfigError);
    expect(() => resolve("", args)).toThrow(message);
  });

  test("an empty secret in the environment means not set", () => {
    expect(() => resolve("", [], { NOVNC_PROXY_PASSWORD: "" })).not.toThrow();
  });

  test("a secret's value is never quoted in an error: a secret setting's, nor the password in a store URL", () => {
    const table = { pin: { kind: "string", repeatable: false, description: "A secret", secret: true, parse: () => { throw new BadValue("too short"); } } } satisfies Record<string, SettingDef>;
    for (const from of [{ flags: new Map([["pin", ["hunter2"]]]), env: {} }, { flags: new Map(), env: { NOVNC_PROXY_PIN: "hunter2" } }]) {
      const err = (() => { try { mergeSettings({ table, ...from }); } catch (e) { return e as Error; } })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err!.message).toEndWith(": too short");
      expect(err!.message).not.toContain("hunter2");
    }
    expect(() => resolve("", ["--store", "redis://:hunter2@127.0.0.1:notaport"])).toThrow('--store "redis://:***@127.0.0.1:notaport": expected');
  });

  test("an unknown NOVNC_PROXY_* variable in the environment is a warning with a hint", () => {
    const r = resolve("", [], { NOVNC_PROXY_ALOW: "x", HOME: "/root" });
    expect(r.warnings).toEqual(["env NOVNC_PROXY_ALOW: not a novnc-proxy setting, ignored (did you mean NOVNC_PROXY_ALLOW?)"]);
  });

  test("a command's own setting in the environment is read, not warned about as unknown", () => {
    const table = { ...pickSettings("log-level"), json: toggle({ description: "JSON" }) };
    const r = mergeSettings({ table, flags: new Map(), env: { NOVNC_PROXY_JSON: "true", NOVNC_PROXY_JSNO: "true" } });
    expect(r.values.json).toBe(true);
    expect(r.warnings).toEqual(["env NOVNC_PROXY_JSNO: not a novnc-proxy setting, ignored (did you mean NOVNC_PROXY_JSON?)"]);
  });
});

describe("precedence: flag > env > file > default", () => {
  const file = "PROXY_PORT=6100\nSSL_CIPHERS=FILE\nNOVNC_PROXY_CLOCK_SKEW=7";

  test("file beats default", () => {
    const r = resolve(file);
    expect(r.values.ciphers).toBe("FILE");
    expect(r.sources.ciphers).toBe("f.conf:2");
    expect(r.sources.origin).toBe("default");
    expect(r.values["clock-skew"]).toBe(7);
    expect(resolve("").values["clock-skew"]).toBe(5);
  });

  test("env beats file", () => {
    const r = resolve(file, [], { NOVNC_PROXY_CIPHERS: "ENV", NOVNC_PROXY_LISTEN: "127.0.0.1:9" });
    expect(r.values.ciphers).toBe("ENV");
    expect(r.values.listen).toEqual({ hostname: "127.0.0.1", port: 9 });
    expect(r.sources.ciphers).toBe("env NOVNC_PROXY_CIPHERS");
  });

  test("flag beats env and file, in both --x v and --x=v forms", () => {
    const r = resolve(file, ["--ciphers", "FLAG", "--listen=127.0.0.1:1"], { NOVNC_PROXY_CIPHERS: "ENV", NOVNC_PROXY_LISTEN: "127.0.0.1:9" });
    expect(r.values.ciphers).toBe("FLAG");
    expect(r.values.listen).toEqual({ hostname: "127.0.0.1", port: 1 });
    expect(r.sources.ciphers).toBe("flag");
  });

  test("an empty env variable does not override the file", () => {
    expect(resolve(file, [], { NOVNC_PROXY_CIPHERS: "" }).values.ciphers).toBe("FILE");
  });

  test("repeatable flags on the command line replace the env and file lists wholesale", () => {
    const fileAllow = "NOVNC_PROXY_ALLOW=10.0.0.0/8";
    expect(resolve(fileAllow).values.allow).toEqual(["10.0.0.0/8"]);
    expect(resolve(fileAllow, [], { NOVNC_PROXY_ALLOW: "192.0.2.1,192.0.2.2" }).values.allow).toEqual(["192.0.2.1", "192.0.2.2"]);
    const r = resolve(fileAllow, ["--allow", "127.0.0.1", "--allow=10.0.0.0/8:5900"], { NOVNC_PROXY_ALLOW: "192.0.2.1" });
    expect(r.values.allow).toEqual(["127.0.0.1", "10.0.0.0/8:5900"]);
    expect(r.sources.allow).toBe("flag");
  });

  test("--keystore on the command line replaces the certificate pair from 10-setup.conf", () => {
    const r = resolve(SETUP_CONF, ["--keystore", "/etc/pki/ovirt-engine/keys/websocket-proxy.p12"]);
    expect(r.values.cert).toBeUndefined();
    expect(r.values.key).toBeUndefined();
    expect(r.sources.cert).toBe("default");
  });

  test("--self-signed from env replaces a file's certificate, but our own cert and keystore in the same layer still clash", () => {
    const r = resolve(SETUP_CONF, [], { NOVNC_PROXY_SELF_SIGNED: "1" });
    expect(r.values.cert).toBeUndefined();
    expect(r.values["self-signed"]).toBe(true);
    const clash = resolve("NOVNC_PROXY_KEYSTORE=/x.p12\nNOVNC_PROXY_CERT=/x.cer\n" + SETUP_CONF);
    expect(() => compile(clash)).toThrow("--cert (f.conf:2) and --keystore (f.conf:1) exclude each other: give one");
  });

  test("env can name a password", () => {
    const r = resolve("", ["--keystore", "/x.p12", "--allow-unsigned"], { NOVNC_PROXY_PASSWORD: "pw-from-env" });
    expect(r.sources.password).toBe("env NOVNC_PROXY_PASSWORD");
    expect(r.values.password).toBe("pw-from-env");
  });

  test("a drop-in's NOVNC_PROXY_KEYSTORE replaces 10-setup.conf's SSL_CERTIFICATE/SSL_KEY", () => {
    const conf = new Map([
      ["SSL_CERTIFICATE", { value: "/etc/pki/ovirt-engine/certs/websocket-proxy.cer", file: "10-setup.conf", line: 2 }],
      ["SSL_KEY", { value: "/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass", file: "10-setup.conf", line: 3 }],
      ["NOVNC_PROXY_KEYSTORE", { value: "/etc/pki/ovirt-engine/keys/websocket-proxy.p12", file: "50-novnc.conf", line: 1 }],
    ]);
    const r = mergeSettings({ table: SETTINGS, flags: new Map(), env: {}, conf });
    expect(r.values.keystore).toBe("/etc/pki/ovirt-engine/keys/websocket-proxy.p12");
    expect(r.values.cert).toBeUndefined();
    expect(r.values.key).toBeUndefined();
  });
});

describe("rules between settings, checked before any file is read", () => {
  test.each([
    [["--cert", "/c", "--self-signed", "--allow-unsigned"], "--cert and --self-signed exclude each other"],
    [["--key", "/k", "--self-signed", "--allow-unsigned"], "--key goes with --cert"],
    [["--self-signed"], "--engine-cert FILE is required"],
    [["--self-signed", "--allow-unsigned", "--vnc-verify-name"], "--vnc-verify-name needs --vnc-ca"],
    [["--self-signed", "--allow-unsigned", "--vnc-client-cert", "/c"], "--vnc-client-cert and --vnc-client-key go together"],
    [["--allow-unsigned"], "no TLS certificate"],
    [["--self-signed", "--allow-unsigned", "--kubevirt-ca", "/c", "--kubevirt-insecure"], "--kubevirt-ca and --kubevirt-insecure exclude each other"],
  ])("%j: %p", (args, message) => {
    expect(() => compile(resolve("", args))).toThrow(message);
  });

  test("--kubevirt-ca must hold a certificate: a wrong file stops start-up naming it", () => {
    const file = `${import.meta.dir}/merge.test.ts`;
    expect(() => compile(resolve("", ["--self-signed", "--allow-unsigned", "--kubevirt-ca", file]))).toThrow(`--kubevirt-ca ${file}: no PEM certificate in it`);
  });

  test("--kubevirt-insecure and --view-only warn at start", () => {
    const c = compile(resolve("", ["--self-signed", "--allow-unsigned", "--kubevirt-insecure", "--view-only"]));
    expect(c.warnings.join("\n")).toContain("--kubevirt-insecure: websocket (KubeVirt) targets' certificates are not checked");
    expect(c.warnings.join("\n")).toContain("--view-only: every console is read-only");
    expect(c.server.viewOnly).toBe(true);
    expect(c.server.kubevirt).toEqual({ caPem: null, insecure: true });
  });
});

describe("parseArgv with positionals (sessions kill ID)", () => {
  const table = pickSettings("store", "debug");
  test("words that are not flag values are collected, in order; flags are read as always", () => {
    const words: string[] = [];
    const flags = parseArgv(table, ["kill", "--store", "redis://h:1", "id-1", "--debug"], words);
    expect(words).toEqual(["kill", "id-1"]);
    expect([...flags]).toEqual([["store", ["redis://h:1"]], ["debug", ["true"]]]);
  });
  test("without a collector a word is still a mistake", () => {
    expect(() => parseArgv(table, ["kill"])).toThrow('unexpected argument "kill"');
  });
});

describe("splitList", () => {
  test.each([
    ["a b,c", ["a", "b", "c"]],
    ["  a  ,, b ", ["a", "b"]],
    ["h:5900,5901-5910 x", ["h:5900,5901-5910", "x"]],
    ["5900,host", ["5900", "host"]],
    ["https://a.example:8443,https://b.example", ["https://a.example:8443", "https://b.example"]],
    ["", []],
  ])("%p splits into %p", (value, items) => {
    expect(splitList(value)).toEqual(items);
  });
});

describe("commands whose flags citty parses refuse unknown flags too", () => {
  const known = ["key", "cert", "lifetime", "ssl-target"];
  test.each([
    [["--lifetim", "3"], "unknown flag --lifetim (did you mean --lifetime?)"],
    [["--no-cert"], "unknown flag --no-cert (did you mean --cert?)"],
    [["-x"], "unknown flag -x"],
    [["--key", "k", "-x=1"], "unknown flag -x"],
    [["--key", "a", "--key", "b"], "--key given twice; it takes one value"],
    [["--ssl-target", "--no-ssl-target"], "--ssl-target given twice; it takes one value"],
  ])("%j: %p", (args, message) => {
    expect(() => canonicalFlags(args, known, ["ssl-target"])).toThrow(message);
  });
  test.each([[["--sslTarget"]], [["--no-ssl-target"]], [["--lifetime=3", "x"]], [["--key", "-"]]])("%j is fine", (args) => {
    expect(() => canonicalFlags(args, known, ["ssl-target"])).not.toThrow();
  });
  // citty maps only the camelCase spelling; any other that names a flag must reach it as the flag.
  test.each([
    [["--ssl_target"], ["--ssl-target"], []],
    [["--SSL-TARGET", "--cert", "c"], ["--ssl-target", "--cert", "c"], []],
    [["--no-ssl_target"], ["--no-ssl-target"], []],
    [["inspect", "--LIFETIME=3", "--key", "-x", "t"], ["inspect", "--lifetime=3", "--key", "-x", "t"], []],
    [["--cert", "c", "--", "--x"], ["--cert", "c", "--", "--x"], []],
    [["--cert", "a", "--cert=b"], ["--cert", "a", "--cert=b"], ["cert"]],
  ])("%j reaches citty as %j (repeatable: %j)", (args, canonical, repeatable) => {
    expect(canonicalFlags(args, known, ["ssl-target"], repeatable)).toEqual(canonical);
  });
});
