import { describe, expect, test } from "bun:test";
import { ticketViewOnly } from "../../assets/console/view-only.ts";
import { signTicket } from "../../src/ticket/sign.ts";
import { makeEngineKeys } from "../helpers/engine-keys.ts";

describe("ticketViewOnly (the page's badge)", () => {
  const keys = makeEngineKeys();
  const mint = (viewOnly: boolean) => signTicket({ keyPem: keys.keyPem, certPem: keys.certPem, host: "127.0.0.1", port: 5900, viewOnly });

  test("true for a ticket minted with view_only, false without", () => {
    expect(ticketViewOnly(mint(true))).toBe(true);
    expect(ticketViewOnly(mint(false))).toBe(false);
  });

  test.each(["", "not base64 !", btoa("{}"), btoa(JSON.stringify({ data: "%ZZ" })), btoa(JSON.stringify({ data: encodeURIComponent('{"view_only":"true"}') }))])(
    "false for what is not a view-only ticket: %j",
    (t) => expect(ticketViewOnly(t)).toBe(false),
  );
});
