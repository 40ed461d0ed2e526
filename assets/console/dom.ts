/** The page's elements by id; a missing one is a build mistake, so it throws at start-up. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page is missing #${id}`);
  return el as T;
}

type ElementKind = abstract new (...args: never[]) => HTMLElement;

/**
 * Elements whose ids are `prefix` + each key, checked to be of the kind given:
 * `byIds("type-", { dialog: HTMLDialogElement })` -> `{ dialog: <dialog id="type-dialog"> }`.
 * A missing element or one of another kind throws at start-up.
 */
export function byIds<M extends Record<string, ElementKind>>(prefix: string, kinds: M): { [K in keyof M]: InstanceType<M[K]> } {
  const out: Record<string, HTMLElement> = {};
  for (const [name, kind] of Object.entries(kinds)) {
    const el = byId(prefix + name);
    if (!(el instanceof kind)) throw new Error(`console page: #${prefix}${name} is not a ${kind.name}`);
    out[name] = el;
  }
  return out as { [K in keyof M]: InstanceType<M[K]> };
}
