// `splicefs set MOUNTPOINT read-mode auto|passthrough|splice|copy`: files opened from now on are read by
// that path; files open now keep the one they were opened with. Sent to the server of
// MOUNTPOINT over its control socket (src/control/client.ts); the server may refuse (a mount
// started in copy mode has no pipes to splice with; passthrough where the mount cannot have
// it) and says why in one line.
import { READ_MODES } from '../api/options.js';
import { SplicefsError } from '../errors.js';
import { ControlClient } from '../control/client.js';
import type { Reply, SetResult } from '../control/protocol.js';
import { scanArgs, shown, usageError } from './args.js';
import { writeOut } from './output.js';

/** A set reply's payload; the server's refusal as a SplicefsError (exit 1). */
function setOf(r: Reply): SetResult {
  if (!r.ok) throw new SplicefsError(r.error);
  if (!('set' in r)) throw new SplicefsError('the server sent a reply without set');
  return r.set;
}

/**
 * args: the bytes after `set`. Resolves with the exit code (0) after printing what changed.
 * Throws a SplicefsError: exit 2 for bad arguments, 1 when no server serves MOUNTPOINT, the
 * caller may not use its socket, the server refuses the mode, or the line cannot be written
 * (the mode is set then, and the line says so).
 */
export async function setCommand(args: readonly Buffer[]): Promise<number> {
  const { positionals } = scanArgs(args, []);
  if (positionals.length !== 3) usageError(`set takes MOUNTPOINT, a setting and a value: set MOUNTPOINT read-mode ${READ_MODES.join('|')}`);
  const [mnt, name, value] = positionals.map((i) => args[i]!) as [Buffer, Buffer, Buffer];
  if (name.toString() !== 'read-mode') usageError(`set: unknown setting '${shown(name)}' (read-mode)`);
  if (!(READ_MODES as readonly string[]).includes(value.toString())) usageError(`set read-mode takes one of ${READ_MODES.join(', ')}, not '${shown(value)}'`);
  const client = await ControlClient.connect(mnt);
  try {
    const set = setOf(await client.request({ op: 'set', name: 'read-mode', value: value.toString() }));
    const n = set.openFiles;
    const open =
      n === 0 ? 'no file is open now' : n === 1 ? 'the 1 file open now keeps the read path it was opened with' : `the ${n} files open now keep the read paths they were opened with`;
    try {
      await writeOut(`read-mode ${set.value} (was ${set.previous}) for files opened from now on; ${open}\n`);
    } catch (err) {
      // The server did change the mode: say so, or the user would think it failed.
      throw new SplicefsError(`read-mode ${set.value} is set, but ${(err as Error).message}`);
    }
    return 0;
  } finally {
    client.close();
  }
}
