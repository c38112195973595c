// `splicefs SOURCE MOUNTPOINT`: mount and serve until unmounted or signalled, in the foreground,
// or hand over to a daemon (daemon.ts). Signals: SIGINT, SIGTERM and SIGHUP unmount (a busy
// mount gets 5 s for its open files, a second signal aborts at once) and the exit is 0.
import { constants } from 'node:os';
import { addon } from '../addon.js';
import { mount, type MountHandle } from '../api/mount.js';
import { validate, type MountOptions } from '../api/options.js';
import { OptionError, SplicefsError } from '../errors.js';
import { createLogger } from '../log.js';
import { shown } from './args.js';
import { effectiveLogLevel, type ServeConfig } from './config.js';
import { openLog, startDaemon, startedByMount, type DaemonChild } from './daemon.js';

/**
 * In the foreground the server goes when whoever started it goes: the kernel sends SIGTERM when
 * the parent exits (PR_SET_PDEATHSIG), which unmounts as any SIGTERM does. Without it, SIGTERM
 * to a wrapper such as `npx splicefs` (npm does not wait for its child) orphans the server and
 * leaves the mount. It also means a server started with `&` from a shell goes when that shell
 * exits: --daemon (or mount(8)) is the way to keep a mount without a parent.
 * (The signal comes when the parent's *thread* that started us exits; shells, npm and
 * supervisors start children from their main thread.)
 */
function tieToParent(): void {
  addon.setParentDeathSignal(constants.signals.SIGTERM);
}

/**
 * An error of the API about an option (OptionError: "pipePages takes at most 256 ..."), said
 * again with the option as the user typed it ("--pipe-pages takes at most 256 ..., not '512'"):
 * a command-line user never wrote `pipePages`. A usage error (exit code 2) points at --help as
 * the CLI's own do. Anything else is returned as it is.
 */
export function asTyped(err: unknown, c: ServeConfig): unknown {
  if (!(err instanceof OptionError)) return err;
  const given = c.given[err.key as keyof MountOptions];
  if (!given) return err;
  const help = err.exitCode === 2 ? ' (see splicefs --help)' : '';
  return new SplicefsError(err.as(given.spelled, `'${shown(given.raw)}'`) + help, err.exitCode);
}

/**
 * Serve `c` (parsed by config.ts). `args`: the command line's bytes, for a daemon to be started
 * with; `child`: set when this process is that daemon. Resolves with the exit code; throws a
 * SplicefsError for what the user must hear about.
 */
export async function serve(c: ServeConfig, args: readonly Buffer[], child: DaemonChild | null): Promise<number> {
  if (!child && !c.foreground && (c.daemon || startedByMount())) {
    // A bad value is said by this process, before any daemon starts (config.ts checks every value
    // already; this is what mount() would check first).
    try {
      validate(c.mount);
    } catch (err) {
      throw asTyped(err, c);
    }
    return startDaemon(args, c.logFile, c.mountpoint);
  }
  if (!child) tieToParent();
  // A daemon's stderr is its log file already; in the foreground --log-file takes the log there.
  const logFd = !child && c.logFile !== undefined ? openLog(c.logFile, false) : 2;
  const logger = createLogger(effectiveLogLevel(c), c.logFormat ?? 'auto', logFd);
  const opts = { ...c.mount, logger };

  // Signal handlers go in before mounting: a SIGTERM that arrives while the mount is being set
  // up (or right after) must still unmount, not kill the process and leave a stale mount.
  let handle: MountHandle | null = null;
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    logger.info({ signal: sig }, signals === 1 ? 'unmounting' : 'unmounting now');
    // A second signal does not wait for a busy mount's open files.
    if (handle) void handle.unmount({ graceMs: signals === 1 ? 5_000 : 0 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  handle = await mount(c.source, c.mountpoint, opts).catch((err: unknown) => {
    throw asTyped(err, c);
  });
  child?.ready();
  if (signals > 0) void handle.unmount({ graceMs: signals === 1 ? 5_000 : 0 });
  const { reason } = await handle.closed;
  if (c.stats) {
    // The exact path bytes are for programs using the API; here the escaped paths say it all.
    const { sourceBytes: _s, mountpointBytes: _m, ...info } = handle.info;
    process.stdout.write(JSON.stringify({ info, ...handle.stats() }) + '\n');
  }
  return reason === 'unmounted' || reason === 'aborted' ? 0 : 1;
}
