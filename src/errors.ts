// Errors a user can act on: one line, no stack. The CLI prints `splicefs: <message>`.
import { constants } from 'node:os';

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

const names = new Map<number, string>();
for (const [name, code] of Object.entries(constants.errno)) if (!names.has(code)) names.set(code, name);

/** "ENOENT" for 2, as in the kernel's headers. */
export function errnoName(errno: number): string {
  return names.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}
