/**
 * A PKI for QEMU's VNC TLS (`-object tls-creds-x509,dir=DIR`), made with openssl at test time:
 * a CA, a server cert for 127.0.0.1/localhost and a client cert, under the file names QEMU reads
 * (ca-cert.pem, server-cert.pem, server-key.pem; client-cert.pem, client-key.pem), the way
 * vdsm lays out /etc/pki/vdsm/libvirt-vnc. Nothing is checked in.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, tempDir } from "./keystores.ts";

export interface VncPki {
  /** The folder to pass as QEMU's `dir=`. */
  dir: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  cleanup: () => void;
}

function sign(dir: string, name: string, cn: string, ext: string): void {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${cn}/O=novnc-proxy tests`]);
  run([
    "openssl", "x509", "-req", "-in", csr, "-CA", join(dir, "ca-cert.pem"), "-CAkey", join(dir, "ca-key.pem"),
    "-set_serial", String(Date.now()), "-days", "2", "-sha256", "-extfile", extFile, "-out", join(dir, `${name}-cert.pem`),
  ]);
}

/**
 * Makes CA + server + client certificates in a fresh temp folder.
 * @param opts.serverNames subjectAltName entries of the server cert (default 127.0.0.1 + localhost).
 */
export function makeVncPki(opts: { serverNames?: string[]; caName?: string } = {}): VncPki {
  const { dir, cleanup } = tempDir("novnc-vnc-pki-");
  const names = opts.serverNames ?? ["IP:127.0.0.1", "DNS:localhost"];
  run([
    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "ca-key.pem"),
    "-out", join(dir, "ca-cert.pem"), "-days", "2", "-sha256", "-subj", `/CN=${opts.caName ?? "VNC test CA"}/O=novnc-proxy tests`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const leaf = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n";
  sign(dir, "server", "vnc-server", `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=${names.join(",")}\n`);
  sign(dir, "client", "novnc-proxy", `${leaf}extendedKeyUsage=clientAuth\n`);
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    dir,
    caPem: read("ca-cert.pem"),
    clientCertPem: read("client-cert.pem"),
    clientKeyPem: read("client-key.pem"),
    cleanup,
  };
}
