// `splicefs umount MOUNTPOINT`: unmount; a busy mount is detached (its open files keep the
// connection until they close), and a stale mount of a killed server (ENOTCONN) is cleaned.
// As root with umount2, as anyone else through `fusermount3 -u` (mnt/connection.ts).
import { unmountAt } from '../mnt/connection.js';
import { showPath } from '../paths.js';
import { scanArgs, usageError } from './args.js';

/** args: the bytes after `umount`. Resolves with the exit code; throws a SplicefsError. */
export async function umountCommand(args: readonly Buffer[]): Promise<number> {
  const { positionals } = scanArgs(args, []);
  if (positionals.length !== 1) usageError('umount takes one MOUNTPOINT');
  const mnt = args[positionals[0]!]!;
  if ((await unmountAt(mnt)) === 'detached') process.stderr.write(`splicefs: ${showPath(mnt)} was busy: detached\n`);
  return 0;
}
