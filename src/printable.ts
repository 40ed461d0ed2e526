/**
 * Untrusted text (a header, a peer's reason, a user's flag value) made safe for one log line, a
 * terminal or a websocket close reason: printable ASCII only, and bounded so a hostile peer cannot
 * flood a log line or overflow a 123-byte close reason. Pure.
 */

/**
 * `text` with every character outside printable ASCII (0x20-0x7e) replaced by `?`, cut to `max`
 * characters with `...` appended when it was longer.
 *
 * @example printable("evil\r\nheader", 80) === "evil??header"
 */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
