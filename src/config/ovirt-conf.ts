/**
 * oVirt's shell-style `KEY=value` config format (ovirt-websocket-proxy.conf and its `.d`
 * drop-ins), parsed without I/O. Stricter than upstream's loader, which silently skips any line it
 * cannot read: here every such line is an error naming the file and line. Error messages name
 * keys and positions only, never values (a value may be a password).
 */

/** One effective value and where it was set. */
export interface ConfEntry {
  value: string;
  file: string;
  line: number;
}

/** A line that could not be read. */
export interface ConfError {
  file: string;
  line: number;
  message: string;
}

export interface ParsedConf {
  /** Keys in first-set order; a later line for the same key replaces the value (last wins). */
  values: Map<string, ConfEntry>;
  errors: ConfError[];
}

const KEY_LINE = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Thrown inside the line scanner; becomes a ConfError for that line. */
class LineError extends Error {}

/**
 * Parses one file's text. Supports `KEY=value`, `export KEY=value`, `"..."` (with `\"`, `\\`,
 * `\$`, `` \` `` escapes and expansion) and `'...'` (literal) quoting, `${VAR}` / `$VAR` expansion
 * of keys set earlier in this file or in `initialVars` (earlier files), and `#` comments at the
 * start of a line or after whitespace. Command substitution and line continuations are refused.
 * @param initialVars values from files read before this one, visible to `${VAR}`.
 */
export function parseConf(text: string, fileName: string, initialVars?: ReadonlyMap<string, { value: string }>): ParsedConf {
  const values = new Map<string, ConfEntry>();
  const errors: ConfError[] = [];
  const lookup = (name: string): string | undefined => values.get(name)?.value ?? initialVars?.get(name)?.value;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.replace(/\r$/, "");
    const trimmed = line.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = KEY_LINE.exec(trimmed);
    if (!m) {
      errors.push({ file: fileName, line: lineNo, message: describeBadLine(trimmed) });
      continue;
    }
    const key = m[1]!;
    try {
      const value = scanValue(trimmed.slice(m[0].length), key, lookup);
      values.delete(key); // keep map order = order of the effective lines
      values.set(key, { value, file: fileName, line: lineNo });
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      errors.push({ file: fileName, line: lineNo, message: err.message });
    }
  }
  return { values, errors };
}

function describeBadLine(trimmed: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*[ \t]*$/.test(trimmed)) return "expected KEY=value, found a bare word";
  if (/^[^=\s]*=/.test(trimmed)) return "expected KEY=value: the key must be letters, digits and _ and not start with a digit";
  return "expected KEY=value";
}

/** Reads a value up to the end of the line or a comment, applying quotes, escapes, expansion. */
function scanValue(src: string, key: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  let i = 0;
  const expand = (): void => {
    // src[i] === "$"
    const rest = src.slice(i + 1);
    if (rest.startsWith("{")) {
      const close = rest.indexOf("}");
      const name = close < 0 ? "" : rest.slice(1, close);
      if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new LineError(`${key}: bad \${...} reference: expected \${NAME} with NAME a key set earlier`);
      }
      out += resolve(name);
      i += close + 2;
      return;
    }
    if (rest.startsWith("(")) throw new LineError(`${key}: command substitution $(...) is not supported`);
    const m = NAME.exec(rest);
    if (!m) {
      out += "$"; // a lone `$` (or `$1`, `$!`) stays literal
      i += 1;
      return;
    }
    out += resolve(m[0]);
    i += 1 + m[0].length;
  };
  const resolve = (name: string): string => {
    const v = lookup(name);
    if (v === undefined) throw new LineError(`${key}: \$${name} is not set (only keys set on earlier lines or files can be used)`);
    return v;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t") {
      const rest = src.slice(i).trimStart();
      if (rest === "" || rest.startsWith("#")) return out;
      throw new LineError(`${key}: unquoted space in the value; put the value in quotes`);
    } else if (c === "'") {
      const close = src.indexOf("'", i + 1);
      if (close < 0) throw new LineError(`${key}: unterminated single quote`);
      out += src.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= src.length) throw new LineError(`${key}: unterminated double quote`);
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < src.length && '"\\$`'.includes(src[i + 1]!)) {
          out += src[i + 1];
          i += 2;
        } else if (d === "$") {
          expand();
        } else if (d === "`") {
          throw new LineError(`${key}: command substitution \`...\` is not supported`);
        } else {
          out += d;
          i++;
        }
      }
    } else if (c === "\\") {
      if (i + 1 >= src.length) throw new LineError(`${key}: line continuation with \\ is not supported`);
      out += src[i + 1];
      i += 2;
    } else if (c === "$") {
      expand();
    } else if (c === "`") {
      throw new LineError(`${key}: command substitution \`...\` is not supported`);
    } else if (c === ";" || c === "&" || c === "|" || c === "<" || c === ">") {
      throw new LineError(`${key}: unquoted ${c} in the value; put the value in quotes`);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** oVirt's boolean reading: `t`, `true`, `y`, `yes`, `1` in any case are true, anything else false. */
export function isTrue(value: string): boolean {
  return ["t", "true", "y", "yes", "1"].includes(value.trim().toLowerCase());
}

/** Whether a value reads as a boolean at all (for warning about e.g. `SSL_ONLY=ture`). */
export function isBooleanWord(value: string): boolean {
  return isTrue(value) || ["f", "false", "n", "no", "0", ""].includes(value.trim().toLowerCase());
}
