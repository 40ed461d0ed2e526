/** Test helper: the one-line message of the ConfigError a call throws (fails the test otherwise). */
import { expect } from "bun:test";
import { ConfigError } from "../../src/errors.ts";

export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}
