/** The page's elements by id; a missing one is a build mistake, so it throws at start-up. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page is missing #${id}`);
  return el as T;
}
