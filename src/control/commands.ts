// The subcommands that talk to a running server through its control socket:
//   splicefs stats MOUNTPOINT [--json] [--watch]
//   splicefs set MOUNTPOINT read-mode auto|splice|copy
// cli.ts hands them their arguments (after the subcommand's name) and exits with what they
// return; a SplicefsError they throw is its one line on stderr and its exit code.
import { parseArgs } from 'node:util';
import { SplicefsError } from '../errors.js';
import { ControlClient } from './client.js';
import { rates, statsTable, watchHeader, watchLine } from './format.js';
import { parseMetricsArg, type MetricsOptions } from './metrics.js';
import type { LiveStats, Reply, SetResult } from './protocol.js';

/** The usage lines of these subcommands (cli.ts puts them in its own). */
export const CONTROL_USAGE = `       splicefs stats MOUNTPOINT [--json] [--watch]
                                the counters of a running server (--watch: MiB/s per path
                                every second; --json: JSON)
       splicefs set MOUNTPOINT read-mode auto|splice|copy
                                the read path of files opened from now on (open files keep
                                theirs); stats shows the current mode`;

/** The mount option this module owns, for the options list of cli.ts. */
export const METRICS_USAGE = `  --metrics [HOST:]PORT         serve the counters for Prometheus at http://HOST:PORT/metrics
                                (HOST default 127.0.0.1; off by default)`;

/** `--metrics` as the API's option (undefined when not given); a usage error if malformed. */
export function metricsOption(arg: string | undefined): MetricsOptions | undefined {
  return arg === undefined ? undefined : parseMetricsArg(arg);
}

const WATCH_INTERVAL_MS = 1_000;

function usageError(msg: string): never {
  throw new SplicefsError(`${msg} (see splicefs --help)`, 2);
}

/**
 * parseArgs in splicefs's words, and the positionals as the bytes given (`raw`: the same
 * arguments as bytes; a mountpoint need not be UTF-8).
 */
function parse(cmd: string, args: string[], raw: Buffer[], booleans: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: Object.fromEntries(booleans.map((name) => [name, { type: 'boolean' as const }])),
    });
  } catch (err) {
    return usageError(`${cmd}: ${String((err as Error).message).split('\n')[0]}`);
  }
  const positionals = parsed.tokens.flatMap((t) => (t.kind === 'positional' ? [raw[t.index] ?? Buffer.from(t.value)] : []));
  return { flags: parsed.values as Record<string, boolean | undefined>, positionals };
}

/** A stats reply's payload; the server's error as a SplicefsError (exit 1). */
function statsOf(r: Reply): LiveStats {
  if (!r.ok) throw new SplicefsError(r.error);
  if (!('stats' in r)) throw new SplicefsError('the server sent a reply without stats');
  return r.stats;
}

/** A set reply's payload; the server's error (a mode it refuses) as a SplicefsError (exit 1). */
function setOf(r: Reply): SetResult {
  if (!r.ok) throw new SplicefsError(r.error);
  if (!('set' in r)) throw new SplicefsError('the server sent a reply without set');
  return r.set;
}

/**
 * `splicefs stats MOUNTPOINT [--json] [--watch]`: the counters of the server of MOUNTPOINT as a
 * table (or one JSON object); --watch: once a second, a line with the MiB/s of each path (or a
 * JSON object with `rates`), until SIGINT/SIGTERM. Returns the exit code (0); throws a
 * SplicefsError when no server serves MOUNTPOINT or the caller may not use its socket.
 */
export async function runStats(args: string[], raw: Buffer[] = args.map((a) => Buffer.from(a))): Promise<number> {
  const { flags, positionals } = parse('stats', args, raw, ['json', 'watch']);
  if (positionals.length !== 1) usageError('stats takes one MOUNTPOINT');
  const client = await ControlClient.connect(positionals[0]);
  try {
    const first = statsOf(await client.request({ op: 'stats' }));
    if (!flags.watch) {
      process.stdout.write(flags.json ? JSON.stringify(first) + '\n' : statsTable(first));
      return 0;
    }
    await watch(client, first, Boolean(flags.json));
    return 0;
  } finally {
    client.close();
  }
}

/** Print a refresh a second until a signal; rates are by the server's clock (uptimeMs). */
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
    if (!json) process.stdout.write(watchHeader(first));
    let prev = first;
    while (!stopping) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, WATCH_INTERVAL_MS)))]);
      clearTimeout(timer);
      if (stopping) break;
      const cur = statsOf(await client.request({ op: 'stats' }));
      process.stdout.write(json ? JSON.stringify({ ...cur, rates: rates(prev, cur) }) + '\n' : watchLine(prev, cur));
      prev = cur;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * `splicefs set MOUNTPOINT read-mode MODE`: files opened from now on are read by MODE; files
 * open now keep the path they were opened with. Returns the exit code (0); throws a
 * SplicefsError for bad arguments (exit 2), no server, or a mode the server refuses.
 */
export async function runSet(args: string[], raw: Buffer[] = args.map((a) => Buffer.from(a))): Promise<number> {
  const { positionals } = parse('set', args, raw, []);
  if (positionals.length !== 3) usageError('set takes MOUNTPOINT, a setting and a value: set MOUNTPOINT read-mode auto|splice|copy');
  const [mnt, name, value] = [positionals[0], positionals[1].toString(), positionals[2].toString()];
  if (name !== 'read-mode') usageError(`set: unknown setting '${name}' (read-mode)`);
  if (!['auto', 'splice', 'copy'].includes(value)) usageError(`set read-mode takes auto, splice or copy, not '${value}'`);
  const client = await ControlClient.connect(mnt);
  try {
    const set = setOf(await client.request({ op: 'set', name, value }));
    const n = set.openFiles;
    const open =
      n === 0 ? 'no file is open now' : n === 1 ? 'the 1 file open now keeps the read path it was opened with' : `the ${n} files open now keep the read paths they were opened with`;
    process.stdout.write(`read-mode ${set.value} (was ${set.previous}) for files opened from now on; ${open}\n`);
    return 0;
  } finally {
    client.close();
  }
}
