// The mount command's arguments (`splicefs SOURCE MOUNTPOINT [options]`) turned into what the
// CLI runs: one table of options, each with what it sets. Pure: no I/O, so every option is
// unit-tested (test/unit/cli-config.test.ts). To add an option, add one entry to OPTIONS (and
// its line to usage.ts); it is then also accepted as `-o NAME=VALUE` for fstab lines.
import { oneOf, RULES, type MountOptions, type Rule, type RuledKey } from '../api/options.js';
import { METRICS_TAKES, parseMetricsArg } from '../control/metrics.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../log.js';
import { badValue, needsValue, scanArgs, shown, usageError, wholeNumber, type OptionDef } from './args.js';
import { applyMountOptions, checkMountOptions, setChecked, typed, type MountOptionTarget } from './mount-options.js';

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

/**
 * A long option (also `-o name=VALUE`) that sets the MountOptions `key`: the text given is made
 * a value by `parse` (a number that is not one becomes NaN) and checked by the API's own rule.
 */
function mountOption(long: string, value: string, key: RuledKey, parse: (raw: string) => unknown = (raw) => raw): ServeOption {
  return { long, value, takes: RULES[key].takes, inMountOptions: true, apply: (c, v = '', s) => setChecked(c, key, parse(v) as never, s, v) };
}

/** Seconds as digits with an optional fraction ('2', '0.5', '.5'), else NaN: no sign, exponent or hex. */
const seconds = (v: string) => (/^(\d+\.?\d*|\.\d+)$/.test(v) ? Number(v) : NaN);

// The CLI's own settings, checked as the API's are (what they take, in the same words).
const LOG_LEVEL = oneOf(LOG_LEVELS);
const LOG_FORMAT = oneOf(LOG_FORMATS);
const LOG_FILE: Rule = { takes: 'a path', ok: (v) => v !== '' };

/** `v` if `rule` takes it, else the usage error naming the option as typed (`spelled`). */
function checked(rule: Rule, v: string, spelled: string): string {
  if (!rule.ok(v)) badValue(spelled, rule.takes, v);
  return v;
}

export const OPTIONS: readonly ServeOption[] = [
  mountOption('read-mode', 'MODE', 'readMode'),
  mountOption('write-mode', 'MODE', 'writeMode'),
  mountOption('header-mode', 'MODE', 'headerMode'),
  mountOption('max-read', 'BYTES', 'maxRead', wholeNumber),
  mountOption('pipe-pages', 'N', 'pipePages', wholeNumber),
  mountOption('readahead-kb', 'KB', 'readaheadKb', wholeNumber),
  mountOption('max-background', 'N', 'maxBackground', wholeNumber),
  mountOption('splice-min', 'BYTES', 'spliceMin', wholeNumber),
  mountOption('threads', 'N', 'threads', wholeNumber),
  mountOption('spin-us', 'US', 'spinUs', wholeNumber),
  mountOption('node-fds', 'N', 'nodeFds', wholeNumber),
  mountOption('timeout', 'SECONDS', 'timeout', seconds),
  { long: 'direct-io', inMountOptions: true, apply: (c) => (c.mount.directIo = true) },
  { long: 'no-park', inMountOptions: true, apply: (c) => (c.mount.parkWorkers = false) },
  mountOption('mount-helper', 'HELPER', 'mountHelper'),
  { long: 'log-level', value: 'LEVEL', takes: LOG_LEVEL.takes, inMountOptions: true, apply: (c, v = '', s) => (c.logLevel = checked(LOG_LEVEL, v, s)) },
  { long: 'log-format', value: 'FORMAT', takes: LOG_FORMAT.takes, inMountOptions: true, apply: (c, v = '', s) => (c.logFormat = checked(LOG_FORMAT, v, s) as LogFormat) },
  { long: 'log-file', value: 'PATH', takes: LOG_FILE.takes, inMountOptions: true, apply: (c, v = '', s) => (c.logFile = checked(LOG_FILE, v, s)) },
  { long: 'stats', inMountOptions: true, apply: (c) => (c.stats = true) },
  { long: 'metrics', value: 'HOST:PORT', takes: METRICS_TAKES, inMountOptions: true, apply: (c, v = '', s) => metrics(c, v, s) },
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
  if (def.value && value === undefined) needsValue(`-o ${name}`, `${name}=${def.value}`, def);
  if (!def.value && value !== undefined) usageError(`-o ${name} takes no value, not '${shown(value)}'`);
  def.apply(c, value, `-o ${name}`);
  return true;
}

function metrics(c: ServeConfig, v: string, spelled: string): void {
  const m = parseMetricsArg(v);
  if (!m) badValue(spelled, METRICS_TAKES, v);
  c.mount.metrics = m;
  c.given.metrics = { spelled, raw: v };
}

/** A config with nothing given. */
export function emptyConfig(): ServeConfig {
  return {
    action: 'serve',
    source: Buffer.alloc(0),
    mountpoint: Buffer.alloc(0),
    mount: {},
    given: {},
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
 * Throws a usage error (SplicefsError, exit code 2) for any bad argument, every value checked by
 * the API's rules (api/options.ts RULES) and named as typed; what needs the system to judge it
 * (paths, the pipe size the kernel grants, root for suid/dev) is left to mount().
 */
export function parseServe(args: readonly Buffer[]): ServeConfig {
  const c = emptyConfig();
  const scanned = scanArgs(args, OPTIONS);
  for (const o of scanned.options) o.def.apply(c, o.value, o.spelled);
  if (c.action !== 'serve') return c;
  checkMountOptions(c);
  if (c.singleThread) {
    const threads = c.given.threads;
    if (threads && c.mount.threads !== 0) usageError(`-s (single thread) and ${typed(threads)} contradict each other`);
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
