/**
 * Test helper: stand-in VNC targets on 127.0.0.1 (the proxy relays bytes; these stand where a
 * hypervisor's VNC port would). Stop each with `listener.stop(true)` in afterAll.
 */
import type { TCPSocketListener } from "bun";

/** Echoes every byte back (messages stay small in tests, so a write is never partial). */
export function listenEcho(port = 0): TCPSocketListener<undefined> {
  return Bun.listen({ hostname: "127.0.0.1", port, socket: { data: (s, d) => void s.write(d) } });
}

/** Accepts and stays quiet: enough for "the upgrade was accepted" checks. */
export function listenSilent(port = 0): TCPSocketListener<undefined> {
  return Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
}
