#!/usr/bin/env node
// The command line's entry: which command runs, and how its outcome becomes an exit code and
// at most one line on stderr. Each command lives in src/cli/ (one concern per file):
//   splicefs SOURCE MOUNTPOINT [options]   cli/serve.ts (options: cli/config.ts, daemon: cli/daemon.ts)
//   splicefs umount MOUNTPOINT             cli/umount.ts
//   splicefs stats MOUNTPOINT [--json] [--watch]       cli/stats.ts (a running server's control socket)
//   splicefs set MOUNTPOINT read-mode MODE             cli/set.ts (the same socket)
//   splicefs bench [options]               bench-command.ts
// Arguments are the bytes the process was given (argv.ts), never Node's lossy decoding.
// Exit codes: 0 done, 1 failure, 2 usage error, 70 internal error.
import { existsSync } from 'node:fs';
import { rawArgs } from './argv.js';
import { usageError } from './cli/args.js';
import { SplicefsError } from './errors.js';
import { parseServe } from './cli/config.js';
import { daemonChild } from './cli/daemon.js';
import { serve } from './cli/serve.js';
import { setCommand } from './cli/set.js';
import { statsCommand } from './cli/stats.js';
import { umountCommand } from './cli/umount.js';
import { USAGE, versionText } from './cli/usage.js';

/** A subcommand: the bytes of the arguments after its name -> exit code (or a SplicefsError). */
type Subcommand = (args: readonly Buffer[]) => Promise<number>;

/** `splicefs NAME ...` runs SUBCOMMANDS[NAME] when NAME is the first argument. */
const SUBCOMMANDS: Record<string, Subcommand> = {
  umount: umountCommand,
  stats: statsCommand,
  set: setCommand,
  // The benchmark has options of its own: src/bench-command.ts (benchmarks/bench.js).
  bench: async (args) => (await import('./bench-command.js')).bench(args.map((a) => a.toString('utf8'))),
};

const child = daemonChild();

/**
 * A first argument that is no existing path but a near miss of a subcommand's name (`unmount`,
 * `stat`): the user meant the command, and "source unmount does not exist" would not tell them.
 */
function nearMiss(name: string): string | null {
  if (!/^[a-z]{3,}$/.test(name) || existsSync(name)) return null;
  const near = Object.keys(SUBCOMMANDS).find((c) => c !== name && (c.startsWith(name) || name.startsWith(c) || oneEditApart(c, name)));
  return near ?? null;
}

/** Whether a and b differ by one inserted, deleted or changed letter. */
function oneEditApart(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(i + 1) === b.slice(i + 1) || a.slice(i) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i);
}

async function main(args: readonly Buffer[]): Promise<number> {
  const name = args[0]?.toString('utf8') ?? '';
  if (Object.hasOwn(SUBCOMMANDS, name)) return SUBCOMMANDS[name]!(args.slice(1));
  const near = nearMiss(name);
  if (near !== null) usageError(`unknown command '${name}': did you mean 'splicefs ${near}'?`);
  const config = parseServe(args);
  if (config.action === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (config.action === 'version') {
    process.stdout.write(versionText() + '\n');
    return 0;
  }
  return serve(config, args, child);
}

main(child?.args ?? rawArgs()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof SplicefsError;
    const message = known ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`;
    const code = known ? err.exitCode : 70;
    process.stderr.write(`splicefs: ${message}\n`);
    child?.failed(message, code);
    process.exit(code);
  },
);
