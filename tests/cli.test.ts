import { describe, expect, test } from "bun:test";
import { wantsDebug } from "../src/cli.ts";

describe("--debug is read as check-config reports it", () => {
  test.each([
    [["serve", "--debug"], {}, true],
    [["serve", "--debug=true"], {}, true],
    [["serve", "--Debug"], {}, true],
    [["serve"], { NOVNC_PROXY_DEBUG: "true" }, true],
    [["serve", "--no-debug"], { NOVNC_PROXY_DEBUG: "true" }, false],
    [["serve", "--debug", "--debug=false"], {}, false],
    [["serve"], { NOVNC_PROXY_DEBUG: "false" }, false],
    [["serve", "--", "--debug"], {}, false],
    [["serve"], {}, false],
  ])("%j with env %j: %p", (args, env, on) => {
    expect(wantsDebug(args, env)).toBe(on);
  });
});
