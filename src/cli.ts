#!/usr/bin/env node
// The command line: argument parsing, signals, exit codes. Everything else is the API's.
//   splicefs SOURCE MOUNTPOINT [options]   mount, stay in the foreground; Ctrl-C unmounts
//   splicefs umount MOUNTPOINT             unmount (a stale mount of a killed server too)
// Paths are taken as the bytes the process was given (argv.ts), never as Node's lossy decoding.
import { parseArgs } from 'node:util';
import { rawArgs } from './argv.js';
import { SplicefsError } from './errors.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat } from './log.js';
import { mount, type MountHandle } from './api/mount.js';
import { unmountPath } from './mnt/kernel.js';
import { showPath } from './paths.js';
import type { HeaderMode, MountOptions, ReadMode } from './api/options.js';

const USAGE = `usage: splicefs SOURCE MOUNTPOINT [options]
       splicefs umount MOUNTPOINT
       splicefs bench [options]   the benchmark (splicefs bench --help)

Mirror the directory SOURCE read-only onto MOUNTPOINT through FUSE. READ replies are spliced
from the backing file into /dev/fuse. Runs in the foreground; Ctrl-C or SIGTERM unmounts.
Paths are taken as the bytes given (they need not be UTF-8); messages show other bytes as \\xNN.

options:
  --read-mode auto|splice|copy  how READ replies travel (default auto: splice, and copy for
                                files that cannot be spliced; splice: never give up splicing
                                a file; copy: pread + write only)
  --header-mode auto|patch|write  how a spliced reply's header gets its length (default auto:
                                patch where vmsplice references memory, else write)
  --max-read BYTES              largest READ (default 1048576; clamped to what the kernel
                                grants and to what the pipe holds)
  --pipe-pages N                pipe size in pages (default: the largest allowed); replies
                                that do not fit go by copy (16 = the original 15-page limit)
  --readahead-kb KB             the mount's readahead window (default 1024; kernel's: 128)
  --max-background N            readahead/async requests in flight before readers wait
                                (default 64; kernel's: 12)
  --splice-min BYTES            READs asking for fewer bytes go by copy in splice modes
                                (default 8192: one-page READs are copied)
  --threads N                   worker threads serving READs on cloned /dev/fuse fds
                                (default 2; 0 = the event loop serves everything)
  --spin-us US                  a worker polls this long for the next request before it
                                sleeps (default 50; 0: sleep at once)
  --direct-io                   FOPEN_DIRECT_IO on every open: every read reaches the server
  --node-fds N                  O_PATH fds kept for remembered files (default: the fd limit,
                                raised to the hard limit, minus a quarter); past it the least
                                recently used give theirs back and re-open on demand
  --timeout SECONDS             attribute and entry cache timeout (default 1)
  -o OPT[,OPT...]               mount options:
       allow_other              let every user use the mount (default: root only)
       default_permissions      the kernel checks every access with the caller's uid,
                                groups and capabilities against the source's mode,
                                owner, group and POSIX ACLs, as the source would
                                (on by default, with or without allow_other)
       no_default_permissions   no checks: whoever can reach the mount reads what the
                                server (root) can read; with allow_other that is
                                every user (logged as a warning)
       fsname=NAME              what mountinfo and df show as the source
       ro                       accepted; the mount is always read-only for now
  --log-level LEVEL             ${LOG_LEVELS.join(', ')} (default info;
                                debug: a line per request and reply, READs only when they fail;
                                trace: every READ too)
  --log-format pretty|json      the log on stderr (default: text on a terminal, else JSON)
  --stats                       print the counters as one JSON object on stdout at exit
  -h, --help                    this text`;

function usageError(msg: string): never {
  throw new SplicefsError(`${msg} (see splicefs --help)`, 2);
}

function intArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) usageError(`${name} takes a whole number, not '${v}'`);
  return Number(v);
}

function parseMountOptions(list: string[], opts: MountOptions): void {
  for (const item of list.flatMap((s) => s.split(',')).filter(Boolean)) {
    const [key, value] = item.split(/=(.*)/s, 2);
    switch (key) {
      case 'ro':
        break; // the mount is always read-only for now
      case 'rw':
        usageError('-o rw: read-write mounts are not supported yet');
        break;
      case 'allow_other':
        opts.allowOther = true;
        break;
      case 'default_permissions':
      case 'no_default_permissions': {
        const on = key === 'default_permissions';
        // Saying both is a mistake to point out, not a precedence rule to guess.
        if (opts.defaultPermissions === !on) usageError('-o default_permissions and no_default_permissions contradict each other');
        opts.defaultPermissions = on;
        break;
      }
      case 'fsname':
        if (!value) usageError('-o fsname needs a value');
        opts.fsname = value;
        break;
      default:
        usageError(`unknown mount option '${key}'`);
    }
  }
}

/** The positional arguments as the bytes given (paths need not be UTF-8); tokens say where each was. */
function positionalBytes(tokens: ReadonlyArray<{ kind: string; index: number; value?: unknown }>, raw: Buffer[]): Buffer[] {
  return tokens.flatMap((tok) => (tok.kind === 'positional' ? [raw[tok.index] ?? Buffer.from(String(tok.value))] : []));
}

async function main(argv: string[], raw: Buffer[]): Promise<number> {
  // `bench` has options of its own: src/bench-command.ts (benchmarks/bench.js).
  if (argv[0] === 'bench') return (await import('./bench-command.js')).bench(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: {
        'read-mode': { type: 'string' },
        'header-mode': { type: 'string' },
        'max-read': { type: 'string' },
        'pipe-pages': { type: 'string' },
        'readahead-kb': { type: 'string' },
        'max-background': { type: 'string' },
        'splice-min': { type: 'string' },
        'direct-io': { type: 'boolean' },
        threads: { type: 'string' },
        'spin-us': { type: 'string' },
        'node-fds': { type: 'string' },
        timeout: { type: 'string' },
        o: { type: 'string', short: 'o', multiple: true },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        stats: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs' own message names the option; keep just its first line.
    return usageError(String((err as Error).message).split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const pos = positionalBytes(parsed.tokens, raw);
  if (pos[0]?.toString('latin1') === 'umount') {
    if (pos.length !== 2) usageError('umount takes one MOUNTPOINT');
    const how = unmountPath(pos[1]);
    if (how === 'detached') process.stderr.write(`splicefs: ${showPath(pos[1])} was busy: detached\n`);
    return 0;
  }
  if (pos.length < 2) usageError(pos.length === 0 ? 'missing SOURCE and MOUNTPOINT' : 'missing MOUNTPOINT');
  if (pos.length > 2) usageError(`unexpected argument '${showPath(pos[2])}'`);

  const level = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) usageError(`unknown log level '${level}'`);
  const format = v['log-format'];
  if (format !== undefined && !(LOG_FORMATS as readonly string[]).includes(format)) usageError(`unknown log format '${format}'`);
  let timeout: number | undefined;
  if (v.timeout !== undefined) {
    timeout = Number(v.timeout);
    if (!Number.isFinite(timeout) || timeout < 0) usageError(`--timeout takes seconds, not '${v.timeout}'`);
  }
  const opts: MountOptions = {
    readMode: v['read-mode'] as ReadMode | undefined,
    headerMode: v['header-mode'] as HeaderMode | undefined,
    maxRead: intArg(v['max-read'], '--max-read'),
    pipePages: intArg(v['pipe-pages'], '--pipe-pages'),
    readaheadKb: intArg(v['readahead-kb'], '--readahead-kb'),
    maxBackground: intArg(v['max-background'], '--max-background'),
    spliceMin: intArg(v['splice-min'], '--splice-min'),
    threads: intArg(v.threads, '--threads'),
    spinUs: intArg(v['spin-us'], '--spin-us'),
    nodeFds: intArg(v['node-fds'], '--node-fds'),
    directIo: v['direct-io'] ?? false,
    timeout,
    logger: createLogger(level, (format as LogFormat | undefined) ?? 'auto'),
  };
  parseMountOptions(v.o ?? [], opts);

  // Signal handlers go in before mounting: a SIGTERM that arrives while the mount is being set
  // up (or right after) must still unmount, not kill the process and leave a stale mount.
  let handle: MountHandle | null = null;
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    opts.logger?.info({ signal: sig }, signals === 1 ? 'unmounting' : 'unmounting now');
    // A second signal does not wait for a busy mount's open files.
    if (handle) void handle.unmount({ graceMs: signals === 1 ? 5_000 : 0 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  handle = await mount(pos[0], pos[1], opts);
  if (signals > 0) void handle.unmount({ graceMs: signals === 1 ? 5_000 : 0 });
  const { reason } = await handle.closed;
  if (v.stats) process.stdout.write(JSON.stringify({ info: handle.info, ...handle.stats() }) + '\n');
  return reason === 'unmounted' || reason === 'aborted' ? 0 : 1;
}

main(process.argv.slice(2), rawArgs()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SplicefsError) {
      process.stderr.write(`splicefs: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`splicefs: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(70);
  },
);
