/**
 * The identities this folder produces really work as Bun.serve TLS material: a TLS client on
 * 127.0.0.1 sees the expected leaf (and chain) certificate.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { loadPemIdentity, makeSelfSigned, type TlsIdentity } from "../../src/tls/identity.ts";
import { loadKeystoreIdentity } from "../../src/tls/pkcs12.ts";
import { makeCaSignedPair, makePemPair, opensslFingerprint, opensslP12, tempDir } from "../helpers/keystores.ts";

// Keystores come from openssl and a JVM (keytool): slow on a loaded machine, never hanging.
setDefaultTimeout(60_000);

const { dir, cleanup } = tempDir("novnc-serve-identity-");
const servers: { stop: (force?: boolean) => unknown }[] = [];
let chained: ReturnType<typeof makeCaSignedPair>;
let store = "";
let ecPair: ReturnType<typeof makePemPair>;

beforeAll(() => {
  chained = makeCaSignedPair(dir, "localhost");
  store = opensslP12(join(dir, "engine.p12"), chained, { password: "mypass", chain: chained.caCert });
  ecPair = makePemPair(dir, "ec", { ec: true, cn: "localhost" });
}, 60_000);

afterAll(() => {
  for (const s of servers) s.stop(true);
  cleanup();
});

function serve(id: TlsIdentity): number {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: id.certPem, key: id.keyPem },
    fetch: () => new Response("ok"),
  });
  servers.push(server);
  return server.port!;
}

/** The certificate chain the server presents, as seen by a TLS client. */
function peerChain(port: number, ca?: string): Promise<{ authorized: boolean; chain: PeerCertificate[] }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port, servername: "localhost", ca, rejectUnauthorized: false }, () => {
      const chain: PeerCertificate[] = [];
      let c = sock.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
      while (c && c.fingerprint256 && !chain.some((x) => x.fingerprint256 === c.fingerprint256)) {
        chain.push(c);
        c = c.issuerCertificate as typeof c;
      }
      const authorized = sock.authorized;
      sock.end();
      resolve({ authorized, chain });
    });
    sock.setTimeout(10_000, () => {
      sock.destroy();
      reject(new Error("TLS handshake timed out"));
    });
    sock.on("error", reject);
  });
}

describe("TLS identities served by Bun.serve", () => {
  test("a keystore identity presents its leaf and CA chain, trusted by the CA", async () => {
    const port = serve(loadKeystoreIdentity(store, "mypass"));
    const { authorized, chain } = await peerChain(port, readFileSync(chained.caCert, "utf8"));
    expect(chain[0]?.fingerprint256).toBe(opensslFingerprint(chained.cert));
    expect(chain[1]?.fingerprint256).toBe(opensslFingerprint(chained.caCert));
    expect(authorized).toBe(true);
  });

  test("a PEM EC identity presents its certificate", async () => {
    const port = serve(loadPemIdentity(ecPair.cert, ecPair.key));
    const { chain } = await peerChain(port);
    expect(chain[0]?.fingerprint256).toBe(opensslFingerprint(ecPair.cert));
  });

  test("a self-signed identity presents the certificate whose fingerprint it reports", async () => {
    const id = makeSelfSigned(["localhost", "127.0.0.1"]);
    const port = serve(id);
    const { authorized, chain } = await peerChain(port, id.certPem);
    expect(chain[0]?.fingerprint256).toBe(id.fingerprint256);
    expect(authorized).toBe(true);
  });
});
