/**
 * The few error kinds novnc-proxy has. Each names how it reaches the user:
 * an exit code for the CLI, so `cli.ts` can print one line and exit without a stack.
 */

/** Bad input or configuration found before anything runs (flag, file, key). Exit 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Something failed while running (port in use, peer gone). Exit 1. */
export class RuntimeError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = "RuntimeError";
  }
}

/** Exit code for any thrown value: ours carry one, anything else is a bug (1). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ConfigError || err instanceof RuntimeError) return err.exitCode;
  // citty throws CLIError for unknown commands / missing required args: usage mistakes.
  if (err instanceof Error && err.name === "CLIError") return 2;
  return 1;
}

/** One line for the user: the message, never a stack. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? "unknown error";
}
