/**
 * Catches hand-off messages from the very start of the page.
 *
 * noVNC's core awaits a video-decoder probe at module top level, so the rest of the bundle runs
 * only after that resolves, possibly after the window's `load` event. oVirt's admin portal posts
 * its ticket on `load` without waiting for our ready message; this module is imported first
 * (ES modules evaluate in import order), registers the listener at once and queues what arrives
 * until console.ts takes over with `takeMessages`.
 */

let handler: ((ev: MessageEvent) => void) | null = null;
const queue: MessageEvent[] = [];

window.addEventListener("message", (ev) => {
  if (handler) handler(ev);
  else if (queue.length < 32) queue.push(ev);
});

/** Routes queued and future messages to `fn`. */
export function takeMessages(fn: (ev: MessageEvent) => void): void {
  handler = fn;
  for (const ev of queue.splice(0)) fn(ev);
}
