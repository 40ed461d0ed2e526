/**
 * What `serve` was asked to do, validated (by `parseServeArgs` in src/commands/serve.ts) but with
 * certificate files not yet read: the input of `loadServeConfig` and of a reload.
 */
import type { LogFormat } from "../log.ts";
import type { Limits } from "./limits.ts";

export interface ServeOptions {
  hostname: string;
  port: number;
  tls:
    | { kind: "pem"; certFile: string; keyFile?: string }
    | { kind: "keystore"; file: string; password: string; alias?: string }
    | { kind: "self-signed" };
  tlsMin: "1.2" | "1.3";
  ciphers?: string;
  engineCertFile?: string;
  allowUnsigned: boolean;
  allow: string[];
  origins: string[];
  engineOrigins: string[];
  requireOrigin: boolean;
  clockSkewSeconds: number;
  connectTimeoutSeconds: number;
  vncCaFile?: string;
  vncVerifyName: boolean;
  vncClientCertFile?: string;
  vncClientKeyFile?: string;
  limits: Limits;
  maxMessageBytes: number;
  trustedProxies: string[];
  metricsAllow: string[];
  drainTimeoutSeconds: number;
  logFormat: LogFormat;
  refusalLogLimit: number;
  recordDir: string | null;
  recordMaxBytes: number;
  recordMaxTotal: number;
}
