// `splicefs stats MOUNTPOINT [--json] [--watch]`: the counters of the server of MOUNTPOINT,
// asked over its control socket (src/control/client.ts), as a table (src/control/format.ts)
// or one JSON object; --watch: once a second, a line with the MiB/s of each read path (or a
// JSON object with `rates`), until SIGINT or SIGTERM, or until the reader of its output is gone
// (`| head`: exit 0, quietly). Output that cannot be written is one line, exit 1.
import { SplicefsError } from '../errors.js';
import { ControlClient } from '../control/client.js';
import { rates, statsTable, watchHeader, watchLine } from '../control/format.js';
import type { LiveStats, Reply } from '../control/protocol.js';
import { writeOut } from './output.js';
import { scanArgs, usageError, type OptionDef } from './args.js';

/** How often --watch asks, ms. */
const WATCH_INTERVAL_MS = 1_000;

const OPTIONS: readonly OptionDef[] = [{ long: 'json' }, { long: 'watch' }];


/** A stats reply's payload; the server's error as a SplicefsError (exit 1). */
function statsOf(r: Reply): LiveStats {
  if (!r.ok) throw new SplicefsError(r.error);
  if (!('stats' in r)) throw new SplicefsError('the server sent a reply without stats');
  return r.stats;
}

/**
 * args: the bytes after `stats`. Resolves with the exit code (0; --watch: 0 once stopped by a
 * signal or once its reader is gone). Throws a SplicefsError: exit 2 for bad arguments, 1 when
 * no server serves MOUNTPOINT, the caller may not use its socket, the server does not answer
 * within 5 s, or the output cannot be written.
 */
export async function statsCommand(args: readonly Buffer[]): Promise<number> {
  const { options, positionals } = scanArgs(args, OPTIONS);
  if (positionals.length !== 1) usageError('stats takes one MOUNTPOINT');
  const json = options.some((o) => o.def.long === 'json');
  const watching = options.some((o) => o.def.long === 'watch');
  const client = await ControlClient.connect(args[positionals[0]!]!);
  try {
    const first = statsOf(await client.request({ op: 'stats' }));
    if (watching) await watch(client, first, json);
    else await writeOut(json ? JSON.stringify(first) + '\n' : statsTable(first));
    return 0;
  } finally {
    client.close();
  }
}

/** Print a refresh a second until a signal or a closed pipe; rates are by the server's clock (uptimeMs). */
async function watch(client: ControlClient, first: LiveStats, json: boolean): Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!json && !(await writeOut(watchHeader(first)))) return;
    let prev = first;
    while (!stopping) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, WATCH_INTERVAL_MS)))]);
      clearTimeout(timer);
      if (stopping) break;
      const cur = statsOf(await client.request({ op: 'stats' }));
      if (!(await writeOut(json ? JSON.stringify({ ...cur, rates: rates(prev, cur) }) + '\n' : watchLine(prev, cur)))) return;
      prev = cur;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
