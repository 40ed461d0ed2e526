/**
 * Everything `startServer` needs, already loaded and validated: built only by compileSettings
 * (src/config/compile.ts) for serve, check-config, demo and reload; the server never reads files
 * or flags. Defaults live in the settings table (src/config/schema.ts).
 */
import type { KeyObject } from "node:crypto";
import type { Allowlist } from "../policy/allowlist.ts";
import type { TlsIdentity } from "../tls/identity.ts";
import type { Limits } from "./limits.ts";

/**
 * The per-request checks on the client side, compiled from the settings before anything listens
 * (compileClientPolicy in src/config/compile.ts): the server only calls them.
 */
export interface ClientPolicy {
  /** null = this Origin (with this Host) may open a websocket, else a short reason. */
  checkOrigin(origin: string | null, hostHeader: string | null): string | null;
  /** Whether this peer's X-Forwarded-For is believed (--trusted-proxy). */
  isTrustedProxy(peer: string): boolean;
  /** Whether this peer may read /healthz and /metrics (--metrics-allow). */
  mayReadMetrics(peer: string): boolean;
}

export interface StoreConfig {
  /** Redis URL, password included (never logged). */
  url: string;
  /** The URL without its password. */
  shown: string;
  prefix: string;
  /** null = host name + ":" + listen port. */
  instanceId: string | null;
}

export interface ServerConfig {
  /** Address to bind: "0.0.0.0", "::" (all), or a literal. */
  hostname: string;
  /** 0 = pick a free port (tests); the bound port is on the returned server. */
  port: number;
  /** The certificate and key served over TLS. */
  identity: TlsIdentity;
  /** Minimum TLS version offered to browsers. */
  tlsMin: "1.2" | "1.3";
  /** OpenSSL cipher string for TLS 1.2 (oVirt's SSL_CIPHERS); absent = DEFAULT_TLS12_CIPHERS. */
  ciphers?: string;
  /** Public key that verifies tickets; absent only when unsigned targets are allowed. */
  engineKey: KeyObject | null;
  /** Subject of the engine certificate, for the start-up line. */
  engineSubject: string | null;
  /** Accept the seed's plain `novnc-target=HOST:PORT` cookie (allowlist only). */
  allowUnsigned: boolean;
  allowlist: Allowlist;
  /** Engine origins: may postMessage tickets to the console page and frame it (websockets: `client`). */
  engineOrigins: string[];
  /** Origin check (--origin, engine origins, --require-origin), trusted proxies, metrics readers. */
  client: ClientPolicy;
  /** Seconds of clock difference tolerated on ticket validity. */
  clockSkewSeconds: number;
  /** Seconds to wait for the VNC server's TCP connect. */
  connectTimeoutSeconds: number;
  /** VeNCrypt towards QEMU: CA to verify the VNC server with, name check, client cert. */
  vnc: {
    caPem: string | null;
    verifyName: boolean;
    clientCertPem: string | null;
    clientKeyPem: string | null;
  };
  /** Websocket (KubeVirt) targets: CA to verify them with (null = system store), or no check at all. */
  kubevirt: { caPem: string | null; insecure: boolean };
  /** Every session is view-only (`--view-only`); a ticket's `view_only` makes just its own so. */
  viewOnly: boolean;
  /** Admission caps and session time limits. */
  limits: Limits;
  /** Largest websocket message accepted from a browser; larger closes 1009. */
  maxMessageBytes: number;
  /** Refusal lines per client address and minute before they are only counted (0 = no limit). */
  refusalLogLimit: number;
  /** Record every admitted session's bytes into files in this folder (debugging); null = off. */
  recordDir: string | null;
  /** A recording stops (with a marker) past this many bytes; the session goes on. */
  recordMaxBytes: number;
  /** Past this many bytes of recordings in the folder, new sessions are not recorded. */
  recordMaxTotal: number;
  /** Shared fleet store (`--store`); null = in-process state only. */
  store?: StoreConfig | null;
  /** Extra exact-path GET routes (the demo's launcher page); checked before the asset map. */
  extraRoutes?: Record<string, (req: Request) => Response | Promise<Response>>;
}
