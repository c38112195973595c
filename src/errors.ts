// Errors a user can act on: one line, no stack. The CLI prints `splicefs: <message>`.
import { constants } from 'node:os';
import { inspect } from 'node:util';

export class SplicefsError extends Error {
  constructor(
    message: string,
    /** Process exit code the CLI uses: 1 runtime failure, 2 bad usage. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'SplicefsError';
  }
}

/**
 * A bad option value. Its message names the MountOptions key and the value as the API caller
 * gave it ("spinUs takes a whole number from 0 to 1000000, not -1"); the CLI says the same with
 * the option as the user typed it (`as`), since `spinUs` means nothing on a command line.
 */
export class OptionError extends SplicefsError {
  constructor(
    /** The MountOptions key ('spinUs'). */
    readonly key: string,
    value: unknown,
    /** The message for an option called `name` given `value` (already shown: quoted if text). */
    private readonly say: (name: string, value: string) => string,
    exitCode = 2,
  ) {
    // name stays 'SplicefsError': callers that test the name keep working.
    super(say(key, showValue(value)), exitCode);
  }

  /** The message with the option called `name` and its value shown as `value`. */
  as(name: string, value: string): string {
    return this.say(name, value);
  }
}

/** A value as an API caller wrote it, on one line: 'text' quoted, numbers and the rest plain. */
export function showValue(v: unknown): string {
  return inspect(v, { breakLength: Infinity, maxStringLength: 60, depth: 1 });
}

const names = new Map<number, string>();
for (const [name, code] of Object.entries(constants.errno)) if (!names.has(code)) names.set(code, name);

/** "ENOENT" for 2, as in the kernel's headers. */
export function errnoName(errno: number): string {
  return names.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}
