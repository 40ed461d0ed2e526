/**
 * The plain TCP connector: the checked address, TCP_NODELAY, bytes untouched. Bun's Socket
 * already has the TargetConn members, so the relay writes to it directly (no wrapper).
 */
import type { Socket } from "bun";
import { TargetError, type ConnectRequest, type ConnectedTarget, type TargetConn } from "./target.ts";

/** Plain TCP to the VNC server with TCP_NODELAY; bytes pass through untouched. */
export async function connectPlain(req: ConnectRequest): Promise<ConnectedTarget> {
  const { events } = req;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const connecting = Bun.connect({
    hostname: req.address,
    port: req.port,
    socket: {
      binaryType: "uint8array",
      data(_s, chunk) {
        events.data(chunk);
      },
      drain() {
        events.drain();
      },
      close(_s, err) {
        events.close(err ? "target connection failed" : undefined);
      },
      error(_s, err) {
        events.close(`target error: ${(err as NodeJS.ErrnoException).code ?? "I/O"}`);
      },
      end(s) {
        s.end();
      },
    },
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new TargetError("VNC server connect timeout"));
    }, req.timeoutMs);
  });
  try {
    const socket = (await Promise.race([connecting, timeout])) as Socket<undefined>;
    socket.setNoDelay(true);
    return { conn: socket as unknown as TargetConn };
  } catch (err) {
    if (timedOut) {
      // The connect may still complete later: close it then.
      connecting.then((s) => s.end()).catch(() => {});
      throw err;
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw new TargetError(code === "ECONNREFUSED" ? "VNC server refused the connection" : `VNC server unreachable${code ? ` (${code})` : ""}`);
  } finally {
    clearTimeout(timer);
  }
}
