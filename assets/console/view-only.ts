/**
 * The page's side of a read-only console. The proxy enforces view-only (it drops input when the
 * ticket's signed `data` says `view_only: true`, or with `serve --view-only`); the page only shows
 * it: a "View only" badge, and no input controls. Reading `data` here is safe: it is not secret.
 */

/** Whether a ticket's `data` asks for a read-only console (false when it does not decode). */
export function ticketViewOnly(ticket: string): boolean {
  try {
    const fields: unknown = JSON.parse(atob(ticket));
    const data = (fields as { data?: unknown }).data;
    if (typeof data !== "string") return false;
    const target: unknown = JSON.parse(decodeURIComponent(data));
    return (target as { view_only?: unknown }).view_only === true;
  } catch {
    return false;
  }
}

/** Shows the badge and hides the input controls (`.input-only`), or undoes both. */
export function showViewOnly(on: boolean, doc: Document = document): void {
  doc.body.classList.toggle("view-only", on);
  const badge = doc.getElementById("view-only-badge");
  if (badge) badge.hidden = !on;
}
