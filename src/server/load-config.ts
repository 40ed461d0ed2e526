/**
 * Serve options -> a ServerConfig: reads and checks every file (certificates, keys, keystore,
 * engine certificate, VNC CA, recording folder) so a problem stops start-up (or a reload) with
 * one line naming the file, before anything listens.
 */
import { accessSync, statSync, constants } from "node:fs";
import { ConfigError } from "../errors.ts";
import type { ServerConfig } from "./config.ts";
import type { ServeOptions } from "./options.ts";
import { compileAllowlist } from "../policy/allowlist.ts";
import { compileCidrList } from "../policy/cidr.ts";
import { loadPemIdentity, loadEngineCert, makeSelfSigned, keyFileModeWarning, type TlsIdentity } from "../tls/identity.ts";
import { loadKeystoreIdentity } from "../tls/pkcs12.ts";
import { readInputFile } from "../tls/read-file.ts";
import { DEFAULT_TLS12_CIPHERS } from "../tls/ciphers.ts";

const readPem = (file: string, flag: string): string => readInputFile(file, flag).toString("utf8");

/** Options -> a ServerConfig: reads and checks every file; ConfigError on the first problem. */
export function loadServeConfig(o: ServeOptions): { config: ServerConfig; warnings: string[] } {
  const warnings: string[] = [];
  let identity: TlsIdentity;
  if (o.tls.kind === "pem") {
    identity = loadPemIdentity(o.tls.certFile, o.tls.keyFile);
    const w = keyFileModeWarning(o.tls.keyFile ?? o.tls.certFile);
    if (w) warnings.push(w);
  } else if (o.tls.kind === "keystore") {
    identity = loadKeystoreIdentity(o.tls.file, o.tls.password, o.tls.alias);
    const w = keyFileModeWarning(o.tls.file);
    if (w) warnings.push(w);
  } else {
    const names = ["localhost", "127.0.0.1", "::1"];
    if (!["0.0.0.0", "::"].includes(o.hostname) && !names.includes(o.hostname)) names.unshift(o.hostname);
    identity = makeSelfSigned(names);
    warnings.push(`self-signed certificate for try-out only; browsers will not trust it (SHA-256 ${identity.fingerprint256})`);
  }
  const engine = o.engineCertFile ? loadEngineCert(o.engineCertFile) : null;
  if (o.recordDir) warnings.push(`--record: every session is recorded into ${o.recordDir} (files hold keystrokes; mode 0600)`);
  if (o.allowUnsigned) warnings.push("--allow-unsigned: plain novnc-target cookies are accepted; only the allowlist guards targets");
  // Compile the client lists now so a bad CIDR stops start-up with its flag named.
  compileCidrList(o.trustedProxies, "--trusted-proxy", false);
  compileCidrList(o.metricsAllow, "--metrics-allow", true);
  const config: ServerConfig = {
    hostname: o.hostname,
    port: o.port,
    identity,
    tlsMin: o.tlsMin,
    ciphers: o.ciphers ?? DEFAULT_TLS12_CIPHERS,
    engineKey: engine?.key ?? null,
    engineSubject: engine?.subject ?? null,
    allowUnsigned: o.allowUnsigned,
    allowlist: compileAllowlist(o.allow),
    origins: o.origins,
    engineOrigins: o.engineOrigins,
    requireOrigin: o.requireOrigin,
    clockSkewSeconds: o.clockSkewSeconds,
    connectTimeoutSeconds: o.connectTimeoutSeconds,
    limits: o.limits,
    maxMessageBytes: o.maxMessageBytes,
    trustedProxies: o.trustedProxies,
    metricsAllow: o.metricsAllow,
    refusalLogLimit: o.refusalLogLimit,
    recordDir: o.recordDir ? checkRecordDir(o.recordDir) : null,
    recordMaxBytes: o.recordMaxBytes,
    recordMaxTotal: o.recordMaxTotal,
    vnc: {
      caPem: o.vncCaFile ? readPem(o.vncCaFile, "--vnc-ca") : null,
      verifyName: o.vncVerifyName,
      clientCertPem: o.vncClientCertFile ? readPem(o.vncClientCertFile, "--vnc-client-cert") : null,
      clientKeyPem: o.vncClientKeyFile ? readPem(o.vncClientKeyFile, "--vnc-client-key") : null,
    },
  };
  return { config, warnings };
}

/** The recording folder must exist and be writable; recordings are sensitive, so say so. */
function checkRecordDir(dir: string): string {
  try {
    accessSync(dir, constants.W_OK);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`--record ${dir}: ${code === "ENOENT" ? "no such folder" : code === "ENOTDIR" ? "not a folder" : "not writable"}`);
  }
  return dir;
}
