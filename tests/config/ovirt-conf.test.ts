import { describe, expect, test } from "bun:test";
import { isBooleanWord, isTrue, parseConf } from "../../src/config/ovirt-conf.ts";

const valueOf = (text: string, key = "K", initial?: Map<string, { value: string }>): string | undefined => {
  const r = parseConf(text, "t.conf", initial);
  expect(r.errors).toEqual([]);
  return r.values.get(key)?.value;
};

describe("parseConf values", () => {
  test.each([
    ["K=plain", "plain"],
    ["K=", ""],
    ['K=""', ""],
    ['K="with space"', "with space"],
    ["K='single $NOPE ${NOPE} \\n'", "single $NOPE ${NOPE} \\n"],
    ['K="a\\"b\\\\c\\$d"', 'a"b\\c$d'],
    ['K="keep \\n as is"', "keep \\n as is"],
    ["K=HIGH:!aNULL", "HIGH:!aNULL"],
    ["K=a#b", "a#b"],
    ["K=#notacomment", "#notacomment"],
    ["K=v # comment", "v"],
    ["K=v\t# comment", "v"],
    ['K="quoted # not a comment"', "quoted # not a comment"],
    ["K=v   ", "v"],
    ["  K=indented", "indented"],
    ["K = spaced", "spaced"],
    ["export K=exported", "exported"],
    ['K="a"\'b\'c', "abc"],
    ["K=a\\ b", "a b"],
    ["K=/etc/pki/ovirt-engine/certs/websocket-proxy.cer", "/etc/pki/ovirt-engine/certs/websocket-proxy.cer"],
    ["K=cost$", "cost$"],
    ["K=$1x", "$1x"],
    ["K=v\r", "v"],
  ])("%s reads as %p", (line, expected) => {
    expect(valueOf(line)).toBe(expected);
  });

  test("comments and blank lines are skipped and line numbers stay right", () => {
    const r = parseConf("# header\n\n   \n  # indented comment\nA=1\n\nB=2\n", "f.conf");
    expect(r.errors).toEqual([]);
    expect([...r.values]).toEqual([
      ["A", { value: "1", file: "f.conf", line: 5 }],
      ["B", { value: "2", file: "f.conf", line: 7 }],
    ]);
  });

  test("a later line for the same key wins and records its own line", () => {
    const r = parseConf("A=1\nB=x\nA=2\n", "f.conf");
    expect(r.values.get("A")).toEqual({ value: "2", file: "f.conf", line: 3 });
    expect([...r.values.keys()]).toEqual(["B", "A"]);
  });

  test("CRLF line endings are accepted", () => {
    const r = parseConf("A=1\r\nB=\"two\"\r\n", "f.conf");
    expect(r.errors).toEqual([]);
    expect(r.values.get("B")?.value).toBe("two");
  });
});

describe("parseConf expansion", () => {
  test("${VAR} and $VAR expand keys set earlier in the same file", () => {
    const r = parseConf('DIR=/etc/pki\nA=${DIR}/a.cer\nB=$DIR/b.cer\nC="$DIR/c d"\nD=x${DIR}y\n', "f.conf");
    expect(r.errors).toEqual([]);
    expect(r.values.get("A")?.value).toBe("/etc/pki/a.cer");
    expect(r.values.get("B")?.value).toBe("/etc/pki/b.cer");
    expect(r.values.get("C")?.value).toBe("/etc/pki/c d");
    expect(r.values.get("D")?.value).toBe("x/etc/pkiy");
  });

  test("expansion sees values from earlier files", () => {
    const initial = new Map([["BASE", { value: "/srv" }]]);
    expect(valueOf("K=${BASE}/x", "K", initial)).toBe("/srv/x");
  });

  test("a key in this file shadows the same key from earlier files", () => {
    const initial = new Map([["BASE", { value: "/old" }]]);
    expect(valueOf("BASE=/new\nK=$BASE", "K", initial)).toBe("/new");
  });

  test("expanded text is not expanded again", () => {
    expect(valueOf("A='$B'\nB=no\nK=$A", "K")).toBe("$B");
  });

  test("a value can refer to the key's own previous value", () => {
    expect(valueOf("K=a\nK=${K}b", "K")).toBe("ab");
  });
});

describe("parseConf errors name the file and line", () => {
  test.each([
    ["K=${UNSET}", "K: $UNSET is not set"],
    ["K=$UNSET", "K: $UNSET is not set"],
    ["K=${bad-name}", "bad ${...} reference"],
    ["K=${OPEN", "bad ${...} reference"],
    ['K="unterminated', "unterminated double quote"],
    ["K='unterminated", "unterminated single quote"],
    ["K=two words", "unquoted space"],
    ["K=$(id)", "command substitution"],
    ["K=`id`", "command substitution"],
    ['K="`id`"', "command substitution"],
    ["K=a;b", "unquoted ;"],
    ["K=a|b", "unquoted |"],
    ["K=continued\\", "line continuation"],
    ["JUSTAWORD", "bare word"],
    ["1KEY=x", "the key must be"],
    ["BAD-KEY=x", "the key must be"],
    ["=x", "expected KEY=value"],
    ["[section]", "expected KEY=value"],
  ])("%s fails with %p", (line, message) => {
    const r = parseConf(`# comment\n\n${line}\n`, "/etc/x.conf");
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.file).toBe("/etc/x.conf");
    expect(r.errors[0]!.line).toBe(3);
    expect(r.errors[0]!.message).toContain(message);
    expect(r.values.size).toBe(0);
  });

  test("every bad line is reported, and good lines around them still count", () => {
    const r = parseConf("A=1\nB=\"x\nC=3\nD=two words\n", "f.conf");
    expect(r.errors.map((e) => e.line)).toEqual([2, 4]);
    expect([...r.values.keys()]).toEqual(["A", "C"]);
  });

  test("an error message never contains the value", () => {
    const r = parseConf('PASSWORD="s3cr3t-value\nSECRET=s3cr3t two\n', "f.conf");
    expect(r.errors).toHaveLength(2);
    for (const e of r.errors) expect(e.message).not.toContain("s3cr3t");
  });
});

describe("booleans", () => {
  test.each(["t", "T", "true", "True", "TRUE", "y", "Y", "yes", "YES", "1", " yes "])("%p is true", (v) => {
    expect(isTrue(v)).toBe(true);
  });
  test.each(["f", "false", "False", "n", "no", "0", "", "2", "on", "enabled", "ture"])("%p is false", (v) => {
    expect(isTrue(v)).toBe(false);
  });
  test("words that are not booleans are recognised for a warning", () => {
    expect(isBooleanWord("False")).toBe(true);
    expect(isBooleanWord("on")).toBe(false);
    expect(isBooleanWord("ture")).toBe(false);
  });
});
