/**
 * VNC authentication (RFB security type 2): the client proves it knows the password by
 * DES-encrypting the server's 16-byte challenge. VNC's quirk is the key: the password is cut or
 * zero-padded to 8 bytes and every key byte has its bit order reversed before use.
 *
 * DES-ECB comes from node:crypto; Bun's BoringSSL still ships it (checked against OpenSSL's
 * legacy provider and the FIPS 46 example vector in tests/rfb/des.test.ts).
 */
import { createCipheriv } from "node:crypto";
import { VNC_AUTH_CHALLENGE_LENGTH } from "./constants.ts";

/** Reverses the bit order of one byte (0b10000000 -> 0b00000001). */
function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/**
 * VNC's DES key for a password: its first 8 bytes (UTF-8, as QEMU receives it over QMP JSON),
 * zero-padded, each byte bit-reversed. For the ASCII passwords oVirt uses (base64) this equals
 * noVNC's `charCodeAt` key. Exported for tests.
 */
export function vncAuthKey(password: string): Uint8Array {
  const bytes = new TextEncoder().encode(password);
  const key = new Uint8Array(8);
  for (let i = 0; i < 8 && i < bytes.length; i++) key[i] = reverseBits(bytes[i]!);
  return key;
}

/** Plain DES-ECB of whole 8-byte blocks; no padding. Exported for the standard test vector. */
export function desEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 8) throw new RangeError("DES key must be 8 bytes");
  if (data.length % 8 !== 0) throw new RangeError("DES data must be whole 8-byte blocks");
  const cipher = createCipheriv("des-ecb", key, null);
  cipher.setAutoPadding(false);
  const out = Buffer.concat([cipher.update(data), cipher.final()]);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The 16-byte response to a VNC authentication challenge. Used by the demo server (to check)
 * and by test clients (to answer); never logs or echoes the password.
 */
export function vncAuthResponse(challenge: Uint8Array, password: string): Uint8Array {
  if (challenge.length !== VNC_AUTH_CHALLENGE_LENGTH) {
    throw new RangeError(`VNC challenge must be ${VNC_AUTH_CHALLENGE_LENGTH} bytes`);
  }
  return desEcbEncrypt(vncAuthKey(password), challenge);
}
