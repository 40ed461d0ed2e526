/**
 * Where the ticket sits in a websocket request: the whole path after the first `/`.
 * Real engines put raw standard base64 there (with `+`, `/`, `=`), so the path must never be
 * split on `/`; a percent-encoded form is accepted too and decoded exactly once.
 */

/**
 * The ticket carried by a request target such as `/eyJzYWx0Ijo...`, or null when there is none
 * or it cannot be percent-decoded. A query string or fragment is not part of the ticket.
 *
 * @param rawPath the request target as received (not normalised by a URL parser)
 * @returns the ticket text, or null
 */
export function ticketFromPath(rawPath: string): string | null {
  if (!rawPath.startsWith("/")) return null;
  let ticket = rawPath.slice(1);
  const cut = ticket.search(/[?#]/);
  if (cut >= 0) ticket = ticket.slice(0, cut);
  if (ticket.includes("%")) {
    try {
      ticket = decodeURIComponent(ticket);
    } catch {
      return null;
    }
  }
  return ticket === "" ? null : ticket;
}
