/**
 * Steering a SO_REUSEPORT group to its newest listener while a reload retires the old one.
 *
 * Why: Bun.serve defers accept on Linux (TCP_DEFER_ACCEPT), so a client that has connected but
 * not yet sent its ClientHello still sits in the kernel queue of the listener the port's hash
 * picked. Closing that listener resets it (unless net.ipv4.tcp_migrate_req=1, a host-wide
 * sysctl an unprivileged service cannot set). A classic BPF program on the group that answers
 * "socket k" sends every new connection to the k-th socket of the group, so old listeners only
 * finish what they already hold before they are closed. The kernel keeps the group as an array:
 * a joining socket is appended, a leaving one's place is taken by the last
 * (net/core/sock_reuseport.c); the caller tracks that order to name the newest listener.
 * Bun has no socket-option API: the program is set with setsockopt through bun:ffi.
 */
import { dlopen, ptr, read } from "bun:ffi";

const SOL_SOCKET = 1;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const SO_DETACH_REUSEPORT_BPF = 68;
/** BPF_RET | BPF_K: return the constant. */
const BPF_RET_K = 0x06;

/**
 * A one-instruction classic BPF program, `return k`, as the kernel's struct sock_filter
 * (u16 code, u8 jt, u8 jf, u32 k; host byte order). Pure.
 */
export function returnConstant(k: number): Uint8Array {
  const insn = new Uint8Array(8);
  new Uint16Array(insn.buffer, 0, 1)[0] = BPF_RET_K;
  new Uint32Array(insn.buffer, 4, 1)[0] = k;
  return insn;
}

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | null = null;

function openLibc() {
  return dlopen("libc.so.6", {
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
  });
}

function setsockopt(fd: number, name: number, value: Uint8Array): void {
  libc ??= openLibc();
  if (libc.symbols.setsockopt(fd, SOL_SOCKET, name, ptr(value), value.byteLength) === 0) return;
  const errno = read.i32(libc.symbols.__errno_location()!);
  throw new Error(`setsockopt(${name === SO_ATTACH_REUSEPORT_CBPF ? "SO_ATTACH_REUSEPORT_CBPF" : "SO_DETACH_REUSEPORT_BPF"}) failed, errno ${errno}`);
}

/**
 * Makes the reuseport group of `fd` send new connections to its socket `index` (the kernel falls
 * back to its hash when the index is out of range). Throws when it cannot.
 */
export function steerGroup(fd: number, index: number): void {
  const filter = returnConstant(index);
  // struct sock_fprog: u16 len, padding, pointer to the instructions.
  const prog = new Uint8Array(16);
  new Uint16Array(prog.buffer, 0, 1)[0] = 1;
  new BigUint64Array(prog.buffer, 8, 1)[0] = BigInt(ptr(filter));
  setsockopt(fd, SO_ATTACH_REUSEPORT_CBPF, prog);
}

/** Back to the kernel's hash over the group of `fd`. Throws when it cannot. */
export function unsteerGroup(fd: number): void {
  setsockopt(fd, SO_DETACH_REUSEPORT_BPF, new Uint8Array(4));
}
