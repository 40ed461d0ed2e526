import { afterEach, describe, expect, test } from "bun:test";
import { byIds } from "../../assets/console/dom.ts";

// Stand-ins for the page's element classes (bun test has no DOM).
class FakeElement {
  constructor(readonly id: string) {}
}
class FakeButton extends FakeElement {}
class FakeDialog extends FakeElement {}
const Button = FakeButton as unknown as typeof HTMLButtonElement;
const Dialog = FakeDialog as unknown as typeof HTMLDialogElement;

const realDocument = globalThis.document;
function page(...elements: FakeElement[]): void {
  const byId = new Map(elements.map((e) => [e.id, e]));
  globalThis.document = { getElementById: (id: string) => byId.get(id) ?? null } as unknown as Document;
}
afterEach(() => {
  globalThis.document = realDocument;
});

describe("byIds: the toolbar's elements by id prefix", () => {
  test("each key names the element prefix + key", () => {
    const cad = new FakeButton("btn-cad");
    const dialog = new FakeDialog("type-dialog");
    page(cad, dialog, new FakeButton("type-send"));
    expect(byIds("btn-", { cad: Button }).cad).toBe(cad as unknown as HTMLButtonElement);
    const box = byIds("type-", { dialog: Dialog, send: Button });
    expect(box.dialog).toBe(dialog as unknown as HTMLDialogElement);
    expect((box.send as unknown as FakeElement).id).toBe("type-send");
  });

  test("a missing element or one of another kind stops start-up naming it", () => {
    page(new FakeDialog("btn-cad"));
    expect(() => byIds("btn-", { keys: Button })).toThrow("console page is missing #btn-keys");
    expect(() => byIds("btn-", { cad: Button })).toThrow("console page: #btn-cad is not a FakeButton");
  });
});
