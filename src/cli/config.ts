// The mount command's arguments (`splicefs SOURCE MOUNTPOINT [options]`) turned into what the
// CLI runs: one table of options, each with what it sets. Pure: no I/O, so every option is
// unit-tested (test/unit/cli-config.test.ts). To add an option, add one entry to OPTIONS (and
// its line to usage.ts); it is then also accepted as `-o NAME=VALUE` for fstab lines.
import type { HeaderMode, MountHelper, MountOptions, ReadMode, WriteMode } from '../api/options.js';
import { parseMetricsArg } from '../control/metrics.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../log.js';
import { scanArgs, shown, usageError, wholeNumber, type OptionDef } from './args.js';
import { applyMountOptions, checkMountOptions, type MountOptionTarget } from './mount-options.js';

export interface ServeConfig extends MountOptionTarget {
  action: 'serve' | 'help' | 'version';
  /** The positional arguments' exact bytes (empty for help and version). */
  source: Buffer;
  mountpoint: Buffer;
  /** What goes to mount() (the CLI adds the logger). */
  mount: MountOptions;
  /** --log-level; unset: debug with -d / -o debug, else info. */
  logLevel?: string;
  /** --log-format; unset: text on a terminal, else JSON (log.ts). */
  logFormat?: LogFormat;
  /** --stats: print the counters as one JSON line on stdout at exit. */
  stats: boolean;
  /** -f (or -d / -o debug): stay in the foreground even where the server would daemonize. */
  foreground: boolean;
  /** --daemon: return once mounted and serve in the background (see daemon.ts). */
  daemon: boolean;
  /** --log-file: where a daemon's log goes (default: daemon.ts's defaultLogFile). */
  logFile?: string;
  /** -s was given (single thread: --threads 0); checked against --threads. */
  singleThread: boolean;
}

export interface ServeOption extends OptionDef {
  /** Also accepted as `-o NAME[=VALUE]` (NAME: the long name, with - or _). */
  inMountOptions?: boolean;
  apply(c: ServeConfig, value: string | undefined, spelled: string): void;
}

const num = (v: string | undefined, name: string) => wholeNumber(v ?? '', name);

export const OPTIONS: readonly ServeOption[] = [
  { long: 'read-mode', value: 'MODE', inMountOptions: true, apply: (c, v) => (c.mount.readMode = v as ReadMode) },
  { long: 'write-mode', value: 'MODE', inMountOptions: true, apply: (c, v) => (c.mount.writeMode = v as WriteMode) },
  { long: 'header-mode', value: 'MODE', inMountOptions: true, apply: (c, v) => (c.mount.headerMode = v as HeaderMode) },
  { long: 'max-read', value: 'BYTES', inMountOptions: true, apply: (c, v, s) => (c.mount.maxRead = num(v, s)) },
  { long: 'pipe-pages', value: 'N', inMountOptions: true, apply: (c, v, s) => (c.mount.pipePages = num(v, s)) },
  { long: 'readahead-kb', value: 'KB', inMountOptions: true, apply: (c, v, s) => (c.mount.readaheadKb = num(v, s)) },
  { long: 'max-background', value: 'N', inMountOptions: true, apply: (c, v, s) => (c.mount.maxBackground = num(v, s)) },
  { long: 'splice-min', value: 'BYTES', inMountOptions: true, apply: (c, v, s) => (c.mount.spliceMin = num(v, s)) },
  { long: 'threads', value: 'N', inMountOptions: true, apply: (c, v, s) => (c.mount.threads = num(v, s)) },
  { long: 'spin-us', value: 'US', inMountOptions: true, apply: (c, v, s) => (c.mount.spinUs = num(v, s)) },
  { long: 'node-fds', value: 'N', inMountOptions: true, apply: (c, v, s) => (c.mount.nodeFds = num(v, s)) },
  { long: 'timeout', value: 'SECONDS', inMountOptions: true, apply: (c, v, s) => (c.mount.timeout = seconds(v ?? '', s)) },
  { long: 'direct-io', inMountOptions: true, apply: (c) => (c.mount.directIo = true) },
  { long: 'no-park', inMountOptions: true, apply: (c) => (c.mount.parkWorkers = false) },
  { long: 'mount-helper', value: 'HELPER', inMountOptions: true, apply: (c, v) => (c.mount.mountHelper = v as MountHelper) },
  { long: 'log-level', value: 'LEVEL', inMountOptions: true, apply: (c, v) => (c.logLevel = logLevel(v ?? '')) },
  { long: 'log-format', value: 'FORMAT', inMountOptions: true, apply: (c, v) => (c.logFormat = logFormat(v ?? '')) },
  { long: 'log-file', value: 'PATH', inMountOptions: true, apply: (c, v, s) => (c.logFile = nonEmpty(v, s)) },
  { long: 'stats', inMountOptions: true, apply: (c) => (c.stats = true) },
  { long: 'metrics', value: 'HOST:PORT', inMountOptions: true, apply: (c, v) => (c.mount.metrics = parseMetricsArg(v ?? '')) },
  { long: 'daemon', apply: (c) => (c.daemon = true) },
  { long: 'foreground', short: 'f', apply: (c) => (c.foreground = true) },
  { long: 'debug', short: 'd', apply: (c) => (c.debug = true) },
  { long: 'single-thread', short: 's', apply: (c) => (c.singleThread = true) },
  { short: 'o', value: 'OPT[,OPT...]', apply: (c, v) => applyMountOptions(v ?? '', c, (name, value) => fromMountOption(c, name, value)) },
  { long: 'help', short: 'h', apply: (c) => (c.action = 'help') },
  { long: 'version', short: 'V', apply: (c) => (c.action = 'version') },
];

/** `-o read_mode=copy` as `--read-mode copy`; false if no long option has that name. */
function fromMountOption(c: ServeConfig, name: string, value: string | undefined): boolean {
  const long = name.replace(/_/g, '-');
  const def = OPTIONS.find((d) => d.inMountOptions && d.long === long);
  if (!def) return false;
  if (def.value && !value) usageError(`-o ${name} needs a value (${name}=${def.value})`);
  if (!def.value && value !== undefined) usageError(`-o ${name} takes no value`);
  def.apply(c, value, `-o ${name}`);
  return true;
}

function seconds(v: string, name: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) usageError(`${name} takes seconds, not '${shown(v)}'`);
  return n;
}

function logFormat(v: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(v)) usageError(`unknown log format '${v}' (${LOG_FORMATS.join(' or ')})`);
  return v as LogFormat;
}

function logLevel(v: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(v)) usageError(`unknown log level '${shown(v)}' (one of ${LOG_LEVELS.join(', ')})`);
  return v;
}

function nonEmpty(v: string | undefined, name: string): string {
  if (!v) usageError(`${name} needs a value`);
  return v;
}

/** A config with nothing given. */
export function emptyConfig(): ServeConfig {
  return {
    action: 'serve',
    source: Buffer.alloc(0),
    mountpoint: Buffer.alloc(0),
    mount: {},
    stats: false,
    foreground: false,
    daemon: false,
    debug: false,
    allowRoot: false,
    singleThread: false,
  };
}

/**
 * `splicefs [options] SOURCE MOUNTPOINT [options]` (args: the bytes after the program name).
 * Throws a usage error (SplicefsError, exit code 2) for any bad argument; values that need the
 * system to judge them (paths, ranges the API checks) are left to mount().
 */
export function parseServe(args: readonly Buffer[]): ServeConfig {
  const c = emptyConfig();
  const scanned = scanArgs(args, OPTIONS);
  for (const o of scanned.options) o.def.apply(c, o.value, o.spelled);
  if (c.action !== 'serve') return c;
  checkMountOptions(c);
  if (c.singleThread) {
    if (c.mount.threads !== undefined && c.mount.threads !== 0) usageError(`-s (single thread) and --threads ${c.mount.threads} contradict each other`);
    c.mount.threads = 0;
  }
  if (c.debug) c.foreground = true; // libfuse: -d implies -f
  const pos = scanned.positionals.map((i) => args[i]!);
  if (pos.length === 0) usageError('missing SOURCE and MOUNTPOINT');
  if (pos.length === 1) usageError('missing MOUNTPOINT');
  if (pos.length > 2) usageError(`unexpected argument '${shown(pos[2]!)}'`);
  [c.source, c.mountpoint] = pos as [Buffer, Buffer];
  return c;
}

/** The log level the config asks for: --log-level, else debug with -d / -o debug, else info. */
export function effectiveLogLevel(c: ServeConfig): string {
  return c.logLevel ?? (c.debug ? 'debug' : 'info');
}
