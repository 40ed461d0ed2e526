/**
 * The RFB ProtocolVersion line (RFC 6143 7.1.1), `RFB xxx.yyy\n`, read in one place for every
 * side that meets it: the VeNCrypt client, the downgrade sniff, the recording redactor, the
 * view-only filter and the demo server. Each decides for itself which versions it accepts.
 */
import { RFB_VERSION_LENGTH } from "./constants.ts";

export interface RfbVersion {
  major: number;
  minor: number;
}

const VERSION_LINE = /^RFB (\d{3})\.(\d{3})\n$/;

/**
 * Reads a version line.
 * @param line exactly RFB_VERSION_LENGTH bytes (more or fewer is not a version line)
 * @returns major and minor, or null when the bytes are not a version line
 */
export function readRfbVersion(line: Uint8Array | readonly number[]): RfbVersion | null {
  if (line.length !== RFB_VERSION_LENGTH) return null;
  const m = VERSION_LINE.exec(String.fromCharCode(...line));
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}
