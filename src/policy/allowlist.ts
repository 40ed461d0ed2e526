/**
 * The target allowlist (`--allow`), compiled once at start-up so a bad rule stops the proxy
 * before it serves anyone, and every check is only a match. Forbidden address classes
 * (see `forbiddenReason`) are refused before any rule is looked at. Pure: no I/O.
 */
import { ConfigError } from "../errors.ts";
import { type Ip, parseIp, formatIp, forbiddenReason, isValidHostName } from "./address.ts";
import { parseCidr, inCidr, cidrText } from "./cidr.ts";

/** Default VNC port range (oVirt's console ports) when a rule names no port. */
export const DEFAULT_PORTS: readonly PortRange[] = [{ lo: 5900, hi: 6923 }];

/** Inclusive port range. */
export type PortRange = { lo: number; hi: number };

/** One compiled `--allow` rule. */
export type AllowRule =
  | { kind: "any"; ports: readonly PortRange[] }
  | { kind: "cidr"; base: Ip; prefix: number; ports: readonly PortRange[] }
  | { kind: "name"; name: string; wildcard: boolean; ports: readonly PortRange[] };

/** What the server asks of the compiled allowlist. */
export interface Allowlist {
  /** null when (name?, ip, port) may be connected to, else a short reason. `name` is the host name from the ticket when it was a name, for name rules. */
  check(ip: Ip, port: number, name?: string): string | null;
  /** One line for the start-up log, e.g. "10.0.0.0/8:5900-6923, any unicast:5900-6923". */
  describe(): string;
}

const PORT = /^(?:[1-9][0-9]{0,4})$/;

function parsePort(text: string): number {
  if (!PORT.test(text)) throw new Error(`bad port "${text}"`);
  const n = Number(text);
  if (n > 65535) throw new Error(`port ${n} out of range 1-65535`);
  return n;
}

/** `5900-6923`, `5900,5901` or a mix like `5900,5910-5920`. */
function parsePorts(text: string): PortRange[] {
  if (text === "") throw new Error("empty port list");
  return text.split(",").map((item) => {
    const dash = item.indexOf("-");
    if (dash < 0) {
      const p = parsePort(item);
      return { lo: p, hi: p };
    }
    const lo = parsePort(item.slice(0, dash));
    const hi = parsePort(item.slice(dash + 1));
    if (lo > hi) throw new Error(`port range ${lo}-${hi} is backwards`);
    return { lo, hi };
  });
}

function cidrRule(addrText: string, prefixText: string | null, ports: PortRange[]): AllowRule {
  return { kind: "cidr", ...parseCidr(addrText, prefixText), ports };
}

/** Host part without brackets: `*`, an IP, `IP/len`, a host name or `*.domain`. */
function hostRule(host: string, ports: PortRange[]): AllowRule {
  if (host === "*") return { kind: "any", ports };
  const slash = host.indexOf("/");
  if (slash >= 0) return cidrRule(host.slice(0, slash), host.slice(slash + 1), ports);
  if (host.includes(":") || parseIp(host)) return cidrRule(host, null, ports);
  const name = host.toLowerCase();
  const wildcard = name.startsWith("*.");
  const bare = wildcard ? name.slice(2) : name;
  if (!isValidHostName(bare)) {
    throw new Error(`"${host}" is neither a canonical IP address, a CIDR nor a valid host name`);
  }
  return { kind: "name", name: bare, wildcard, ports };
}

/** Parse one `--allow` spec into a rule; throws a plain Error naming the problem. */
export function parseRule(spec: string): AllowRule {
  if (spec === "") throw new Error("empty rule");
  if (spec.startsWith("[")) {
    // [v6] or [v6/len], optionally followed by :PORTS
    const close = spec.indexOf("]");
    if (close < 0) throw new Error("missing ]");
    const inner = spec.slice(1, close);
    const rest = spec.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw new Error(`unexpected text after ]`);
    const ports = rest === "" ? [...DEFAULT_PORTS] : parsePorts(rest.slice(1));
    if (!inner.includes(":")) throw new Error("brackets are only for IPv6 addresses");
    const slash = inner.indexOf("/");
    return slash >= 0
      ? cidrRule(inner.slice(0, slash), inner.slice(slash + 1), ports)
      : cidrRule(inner, null, ports);
  }
  const slash = spec.indexOf("/");
  if (slash >= 0) {
    // ADDR/LEN[:PORTS]: the prefix length never contains a colon, so the first one after it starts the ports.
    const after = spec.slice(slash + 1);
    const colon = after.indexOf(":");
    const prefixText = colon < 0 ? after : after.slice(0, colon);
    const ports = colon < 0 ? [...DEFAULT_PORTS] : parsePorts(after.slice(colon + 1));
    return cidrRule(spec.slice(0, slash), prefixText, ports);
  }
  const colons = spec.split(":").length - 1;
  if (colons >= 2) return cidrRule(spec, null, [...DEFAULT_PORTS]); // a bare IPv6 address; ports need [brackets]
  if (colons === 1) {
    const colon = spec.indexOf(":");
    return hostRule(spec.slice(0, colon), parsePorts(spec.slice(colon + 1)));
  }
  return hostRule(spec, [...DEFAULT_PORTS]);
}

function portsText(ports: readonly PortRange[]): string {
  return ports.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`)).join(",");
}

function ruleText(rule: AllowRule): string {
  const ports = portsText(rule.ports);
  switch (rule.kind) {
    case "any":
      return `any unicast:${ports}`;
    case "name":
      return `${rule.wildcard ? "*." : ""}${rule.name}:${ports}`;
    case "cidr":
      return rule.base.family === 4 ? `${cidrText(rule)}:${ports}` : `[${cidrText(rule)}]:${ports}`;
  }
}

function hostMatches(rule: AllowRule, ip: Ip, name: string | undefined): boolean {
  switch (rule.kind) {
    case "any":
      return true;
    case "cidr":
      return inCidr(ip, rule);
    case "name":
      if (name === undefined) return false;
      return rule.wildcard ? name.endsWith(`.${rule.name}`) : name === rule.name;
  }
}

function portAllowed(ports: readonly PortRange[], port: number): boolean {
  return ports.some((r) => port >= r.lo && port <= r.hi);
}

/**
 * Compile `--allow` specs once: "10.0.0.0/8", "192.168.1.5:5900", "fd00::/8:5900-5999",
 * "[fd00::1]:5900,5901", "kvm1.example.com:5900-6923", "*.example.com", "*:5900", "localhost".
 * An empty list means any unicast host on ports 5900-6923. A bad spec throws ConfigError.
 */
export function compileAllowlist(specs: string[]): Allowlist {
  const rules: AllowRule[] = [];
  for (const spec of specs) {
    try {
      rules.push(parseRule(spec));
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`--allow "${spec}": ${problem}`);
    }
  }
  if (rules.length === 0) rules.push({ kind: "any", ports: DEFAULT_PORTS });
  const description = rules.map(ruleText).join(", ");

  return {
    check(ip: Ip, port: number, name?: string): string | null {
      const forbidden = forbiddenReason(ip);
      if (forbidden) return forbidden;
      const addr = formatIp(ip);
      const target = name === undefined ? addr : `${name} (${addr})`;
      if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${port} is not a valid port`;
      let hostAllowed = false;
      for (const rule of rules) {
        if (!hostMatches(rule, ip, name)) continue;
        if (portAllowed(rule.ports, port)) return null;
        hostAllowed = true;
      }
      return hostAllowed ? `port ${port} not allowed for ${target}` : `target ${target} not allowed`;
    },
    describe(): string {
      return description;
    },
  };
}
