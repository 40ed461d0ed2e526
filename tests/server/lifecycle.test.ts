import { describe, expect, test } from "bun:test";
import { watchedFiles } from "../../src/server/lifecycle.ts";

describe("watchedFiles: what a change of reloads the server", () => {
  test.each([
    ["PEM certificate and key, engine certificate", { tls: { kind: "pem", certFile: "/c.pem", keyFile: "/k.pem" }, engineCertFile: "/engine.cer" }, ["/engine.cer", "/c.pem", "/k.pem"]],
    ["a PEM file holding both (no key file)", { tls: { kind: "pem", certFile: "/both.pem" } }, ["/both.pem"]],
    ["a keystore", { tls: { kind: "keystore", file: "/ks.p12", password: "secret" }, engineCertFile: "/engine.cer" }, ["/engine.cer", "/ks.p12"]],
    ["a self-signed certificate: only the engine certificate", { tls: { kind: "self-signed" }, engineCertFile: "/engine.cer" }, ["/engine.cer"]],
    ["nothing on disk", { tls: { kind: "self-signed" } }, []],
  ] as const)("%s", (_name, options, files) => {
    expect(watchedFiles(options)).toEqual([...files]);
  });
});
