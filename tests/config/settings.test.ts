import { describe, expect, test } from "bun:test";
import { configArgs } from "../../src/config/load-conf.ts";
import { parseConf } from "../../src/config/ovirt-conf.ts";
import { envNameOf, resolveSettings, splitList } from "../../src/config/settings.ts";
import { repeated } from "../../src/commands/_args.ts";
import { parseServeArgs, serveArgs } from "../../src/commands/serve.ts";
import { ConfigError } from "../../src/errors.ts";

const defs = { ...serveArgs, ...configArgs };

/** Resolves with a config text as one file named `f.conf`. */
function resolve(text: string, rawArgs: string[] = [], env: Record<string, string> = {}) {
  const parsed = parseConf(text, "f.conf");
  expect(parsed.errors).toEqual([]);
  return resolveSettings({ defs, rawArgs, env, files: parsed.values });
}

const SETUP_CONF = [
  "PROXY_PORT=6100",
  "SSL_CERTIFICATE=/etc/pki/ovirt-engine/certs/websocket-proxy.cer",
  "SSL_KEY=/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass",
  "CERT_FOR_DATA_VERIFICATION=/etc/pki/ovirt-engine/certs/engine.cer",
  "SSL_ONLY=True",
].join("\n");

describe("oVirt keys map to serve flags", () => {
  test("engine-setup's 10-setup.conf becomes listen, cert, key and engine-cert with no warnings", () => {
    const r = resolve(SETUP_CONF);
    expect(r.warnings).toEqual([]);
    expect(r.args.listen).toBe("0.0.0.0:6100");
    expect(r.args.cert).toBe("/etc/pki/ovirt-engine/certs/websocket-proxy.cer");
    expect(r.args.key).toBe("/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass");
    expect(r.args["engine-cert"]).toBe("/etc/pki/ovirt-engine/certs/engine.cer");
    expect(r.sources).toMatchObject({ listen: "f.conf:1", cert: "f.conf:2", key: "f.conf:3", "engine-cert": "f.conf:4", "tls-min": "default" });
    const o = parseServeArgs(r.args, r.rawArgs);
    expect(o).toMatchObject({
      hostname: "0.0.0.0",
      port: 6100,
      tls: { kind: "pem", certFile: "/etc/pki/ovirt-engine/certs/websocket-proxy.cer", keyFile: "/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass" },
      engineCertFile: "/etc/pki/ovirt-engine/certs/engine.cer",
    });
  });

  test.each([
    ["PROXY_HOST=*\nPROXY_PORT=6100", "0.0.0.0:6100", "f.conf:1, f.conf:2"],
    ["PROXY_HOST=*\nPROXY_PORT=6100\nSOURCE_IS_IPV6=True", "[::]:6100", "f.conf:1, f.conf:2, f.conf:3"],
    ["PROXY_PORT=7000\nSOURCE_IS_IPV6=yes", "[::]:7000", "f.conf:1, f.conf:2"],
    ["PROXY_HOST=*\nSOURCE_IS_IPV6=False", "0.0.0.0:6100", "f.conf:1"],
    ["PROXY_HOST=192.0.2.7", "192.0.2.7:6100", "f.conf:1"],
    ["PROXY_HOST=proxy.example\nPROXY_PORT=443", "proxy.example:443", "f.conf:1, f.conf:2"],
    ["PROXY_HOST=::1\nPROXY_PORT=6100\nSOURCE_IS_IPV6=1", "[::1]:6100", "f.conf:1, f.conf:2"],
  ])("%p listens on %p", (text, listen, source) => {
    const r = resolve(text);
    expect(r.args.listen).toBe(listen);
    expect(r.sources.listen).toBe(source);
    expect(() => parseServeArgs({ ...r.args, "self-signed": true, "allow-unsigned": true }, r.rawArgs)).not.toThrow();
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
    expect(resolve(`SSL_MIN_VERSION=${v}`).args["tls-min"]).toBe(flag);
  });

  test("SSL_CIPHERS is passed through as --ciphers", () => {
    expect(resolve("SSL_CIPHERS=HIGH:!aNULL").args.ciphers).toBe("HIGH:!aNULL");
  });

  test("an empty SSL_KEY means the key is in the certificate file", () => {
    const r = resolve("SSL_CERTIFICATE=/x/both.pem\nSSL_KEY=\nCERT_FOR_DATA_VERIFICATION=/x/e.cer");
    expect(r.args.key).toBeUndefined();
    expect(r.sources.key).toBe("default");
    expect(parseServeArgs(r.args, r.rawArgs).tls).toEqual({ kind: "pem", certFile: "/x/both.pem", keyFile: undefined });
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
    expect(r.args.cert).toBeUndefined();
  });

  test.each([
    ["SSL_ONLY=False", "f.conf:1: SSL_ONLY=False: plaintext is not supported"],
    ["SSL_ONLY=no", "plaintext is not supported"],
    ["TRACE_ENABLE=True\nTRACE_FILE=/tmp/trace", "f.conf:1: TRACE_ENABLE: upstream's Python trace has no equivalent"],
    ["FOO=1", "f.conf:1: unknown key FOO, ignored"],
    ["PROXY_PORT=6100\nSSL_CERTFICATE=/x", "f.conf:2: unknown key SSL_CERTFICATE, ignored"],
    ["NOVNC_PROXY_LISTN=1", "f.conf:1: unknown key NOVNC_PROXY_LISTN, ignored"],
    ["NOVNC_PROXY_CONFIG=/x", "f.conf:1: unknown key NOVNC_PROXY_CONFIG, ignored"],
    ["NOVNC_PROXY_REQUIRE_ORIGIN=maybe", 'f.conf:1: require-origin "maybe" is not a boolean'],
  ])("%p warns %p", (text, warning) => {
    const r = resolve(text);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(warning);
  });

  test.each([
    ["PROXY_PORT=http", "f.conf:1: PROXY_PORT \"http\": expected a port number"],
    ["PROXY_PORT=70000", "f.conf:1: PROXY_PORT"],
    ["\nSSL_MIN_VERSION=TLSv1.1", "f.conf:2: SSL_MIN_VERSION \"TLSv1.1\": expected TLSv1.2 or TLSv1.3"],
  ])("%p is a config error naming the line", (text, message) => {
    expect(() => resolve(text)).toThrow(ConfigError);
    expect(() => resolve(text)).toThrow(message);
  });
});

describe("our NOVNC_PROXY_* keys", () => {
  test("every serve flag has a key named after it", () => {
    expect(envNameOf("engine-cert")).toBe("NOVNC_PROXY_ENGINE_CERT");
    expect(envNameOf("listen")).toBe("NOVNC_PROXY_LISTEN");
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
    const o = parseServeArgs(r.args, r.rawArgs);
    expect(o).toMatchObject({ hostname: "127.0.0.1", port: 7000, tls: { kind: "self-signed" }, allowUnsigned: true, clockSkewSeconds: 30, requireOrigin: false });
    expect(o.engineOrigins).toEqual(["https://engine.example"]);
    expect(r.sources["require-origin"]).toBe("f.conf:6");
  });

  test("our key beats the oVirt key for the same setting, wherever it is", () => {
    const r = resolve("NOVNC_PROXY_LISTEN=127.0.0.1:7000\nPROXY_PORT=6100\nNOVNC_PROXY_TLS_MIN=1.3\nSSL_MIN_VERSION=TLSv1.2");
    expect(r.args.listen).toBe("127.0.0.1:7000");
    expect(r.args["tls-min"]).toBe("1.3");
    expect(r.sources.listen).toBe("f.conf:1");
  });

  test("a repeatable flag's key is a comma or space list", () => {
    const r = resolve('NOVNC_PROXY_ALLOW="10.0.0.0/8:5900-5999,5901 192.0.2.1, host.example:5900,5901,6000-6010"');
    expect(repeated(r.rawArgs, "allow")).toEqual(["10.0.0.0/8:5900-5999,5901", "192.0.2.1", "host.example:5900,5901,6000-6010"]);
  });
});

describe("precedence: flag > env > file > default", () => {
  const file = "PROXY_PORT=6100\nSSL_CIPHERS=FILE\nNOVNC_PROXY_CLOCK_SKEW=7";

  test("file beats default", () => {
    const r = resolve(file);
    expect(r.args.ciphers).toBe("FILE");
    expect(r.sources.ciphers).toBe("f.conf:2");
    expect(r.sources.origin).toBe("default");
  });

  test("env beats file", () => {
    const r = resolve(file, [], { NOVNC_PROXY_CIPHERS: "ENV", NOVNC_PROXY_LISTEN: "127.0.0.1:9" });
    expect(r.args.ciphers).toBe("ENV");
    expect(r.args.listen).toBe("127.0.0.1:9");
    expect(r.sources.ciphers).toBe("env NOVNC_PROXY_CIPHERS");
    expect(r.args["clock-skew"]).toBe("7");
  });

  test("flag beats env and file, in both --x v and --x=v forms", () => {
    const r = resolve(file, ["--ciphers", "FLAG", "--listen=127.0.0.1:1"], { NOVNC_PROXY_CIPHERS: "ENV", NOVNC_PROXY_LISTEN: "127.0.0.1:9" });
    expect(r.args.ciphers).toBe("FLAG");
    expect(r.args.listen).toBe("127.0.0.1:1");
    expect(r.sources.ciphers).toBe("flag");
    expect(r.sources.listen).toBe("flag");
  });

  test("an empty env variable does not override the file", () => {
    const r = resolve(file, [], { NOVNC_PROXY_CIPHERS: "" });
    expect(r.args.ciphers).toBe("FILE");
  });

  test("a boolean flag given as --no-x on the command line beats env", () => {
    const r = resolve("", ["--no-require-origin"], { NOVNC_PROXY_REQUIRE_ORIGIN: "yes" });
    expect(r.args["require-origin"]).toBe(false);
    expect(r.sources["require-origin"]).toBe("flag");
  });

  test("repeatable flags on the command line replace the env and file lists wholesale", () => {
    const fileAllow = "NOVNC_PROXY_ALLOW=10.0.0.0/8";
    expect(repeated(resolve(fileAllow).rawArgs, "allow")).toEqual(["10.0.0.0/8"]);
    expect(repeated(resolve(fileAllow, [], { NOVNC_PROXY_ALLOW: "192.0.2.1,192.0.2.2" }).rawArgs, "allow")).toEqual(["192.0.2.1", "192.0.2.2"]);
    const r = resolve(fileAllow, ["--allow", "127.0.0.1"], { NOVNC_PROXY_ALLOW: "192.0.2.1" });
    expect(repeated(r.rawArgs, "allow")).toEqual(["127.0.0.1"]);
    expect(r.sources.allow).toBe("flag");
  });

  test("--keystore on the command line replaces the certificate pair from 10-setup.conf", () => {
    const r = resolve(SETUP_CONF, ["--keystore", "/etc/pki/ovirt-engine/keys/websocket-proxy.p12"]);
    expect(r.args.cert).toBeUndefined();
    expect(r.args.key).toBeUndefined();
    expect(r.sources.cert).toBe("default");
    expect(parseServeArgs(r.args, r.rawArgs).tls).toEqual({ kind: "keystore", file: "/etc/pki/ovirt-engine/keys/websocket-proxy.p12", password: "mypass", alias: undefined });
  });

  test("--self-signed from env replaces a file's certificate, but our own cert and keystore in the same layer still clash", () => {
    const r = resolve(SETUP_CONF, [], { NOVNC_PROXY_SELF_SIGNED: "1" });
    expect(parseServeArgs(r.args, r.rawArgs).tls).toEqual({ kind: "self-signed" });
    const clash = resolve("NOVNC_PROXY_KEYSTORE=/x.p12\nNOVNC_PROXY_CERT=/x.cer\n" + SETUP_CONF);
    expect(() => parseServeArgs(clash.args, clash.rawArgs)).toThrow("exclude each other");
  });

  test("env can name a password, which then reaches the keystore options", () => {
    const r = resolve("", ["--keystore", "/x.p12", "--allow-unsigned"], { NOVNC_PROXY_PASSWORD: "pw-from-env" });
    expect(r.sources.password).toBe("env NOVNC_PROXY_PASSWORD");
    expect(parseServeArgs(r.args, r.rawArgs).tls).toMatchObject({ kind: "keystore", password: "pw-from-env" });
  });

  test("values that begin with a dash survive the trip through rawArgs", () => {
    const r = resolve("SSL_CIPHERS=-ALL:ECDHE+AESGCM");
    expect(r.args.ciphers).toBe("-ALL:ECDHE+AESGCM");
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

describe("a drop-in's own TLS source", () => {
  test("NOVNC_PROXY_KEYSTORE in a later file replaces 10-setup.conf's SSL_CERTIFICATE/SSL_KEY", () => {
    const files = new Map([
      ["SSL_CERTIFICATE", { value: "/etc/pki/ovirt-engine/certs/websocket-proxy.cer", file: "10-setup.conf", line: 2 }],
      ["SSL_KEY", { value: "/etc/pki/ovirt-engine/keys/websocket-proxy.key.nopass", file: "10-setup.conf", line: 3 }],
      ["NOVNC_PROXY_KEYSTORE", { value: "/etc/pki/ovirt-engine/keys/websocket-proxy.p12", file: "50-novnc.conf", line: 1 }],
    ]);
    const r = resolveSettings({ defs: serveArgs, rawArgs: [], env: {}, files });
    expect(r.args.keystore).toBe("/etc/pki/ovirt-engine/keys/websocket-proxy.p12");
    expect(r.args.cert).toBeUndefined();
    expect(r.args.key).toBeUndefined();
  });
});
