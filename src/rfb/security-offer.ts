/**
 * Reads the security types an RFB 3.7/3.8 server offers from the first bytes it sends, so a
 * plain relay can notice a server that only speaks VeNCrypt (the ticket and the server disagree)
 * without holding or changing any byte.
 */
import { RFB_VERSION_LENGTH, SECURITY_TYPE_NONE, SECURITY_TYPE_VENCRYPT, SECURITY_TYPE_VNC_AUTH } from "./constants.ts";
import { readRfbVersion } from "./version.ts";

export type SecurityOffer =
  | { kind: "need-more" }
  /** Not an RFB 3.7+ opening we can judge (3.3, refusal, garbage): stop looking. */
  | { kind: "unknown" }
  | { kind: "types"; types: number[] };

/** Judges the server's opening: version line, count, types. */
export function readSecurityOffer(prefix: Uint8Array): SecurityOffer {
  if (prefix.length < RFB_VERSION_LENGTH + 1) return { kind: "need-more" };
  const version = readRfbVersion(prefix.subarray(0, RFB_VERSION_LENGTH));
  if (version === null || version.major !== 3 || version.minor < 7) return { kind: "unknown" };
  const count = prefix[RFB_VERSION_LENGTH]!;
  if (count === 0) return { kind: "unknown" };
  if (prefix.length < RFB_VERSION_LENGTH + 1 + count) return { kind: "need-more" };
  return { kind: "types", types: [...prefix.subarray(RFB_VERSION_LENGTH + 1, RFB_VERSION_LENGTH + 1 + count)] };
}

/** True when the server requires TLS: VeNCrypt offered, and neither None nor VNC auth in the clear. */
export function requiresTls(types: readonly number[]): boolean {
  return types.includes(SECURITY_TYPE_VENCRYPT) && !types.includes(SECURITY_TYPE_NONE) && !types.includes(SECURITY_TYPE_VNC_AUTH);
}
