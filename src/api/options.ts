// The user-facing options: their types, their defaults (each with the measurement behind it)
// and their validation (one-line SplicefsError, exit code 2). Also the public MountInfo type.
import type { Logger } from 'pino';
import { validateMetrics, type MetricsOptions } from '../control/metrics.js';
import { OptionError, SplicefsError } from '../errors.js';
import { MOUNT_HELPERS, type MountHelper, type MountMechanism } from '../mnt/connection.js';

export type { MountHelper, MountMechanism };

/** A mount's access-time policy (see MountOptions.atime). */
export type AtimeMode = 'relatime' | 'noatime' | 'strictatime';
/**
 * How file data travels (datapath/read.ts). passthrough: the kernel reads and writes the backing
 * file itself (FUSE_PASSTHROUGH, Linux 6.9+, needs root), and falls back per file to splice where
 * it cannot; splice: every READ reaches the server and is spliced; copy: every READ reaches the
 * server and is copied. auto (default): passthrough where the kernel takes it, then splice, then
 * copy per file.
 */
export type ReadMode = 'auto' | 'passthrough' | 'splice' | 'copy';
/**
 * How the spliced reply's header gets its length. patch: vmsplice the header and write the real
 * length into its memory after the data splice (needs vmsplice to reference, not copy); write:
 * write a header announcing the expected length, and go by copy if the data comes short.
 * auto: patch where the start-up probe shows vmsplice references memory, else write.
 */
export type HeaderMode = 'auto' | 'patch' | 'write';
/**
 * How WRITE payloads travel (datapath/write.ts). copy: the request is read whole, one pwrite of
 * its payload. splice: the request is spliced out of /dev/fuse into a pipe, its header read, and
 * the payload spliced from the pipe into the backing file. auto: the default the benchmark chose.
 */
export type WriteMode = 'auto' | 'splice' | 'copy';

export interface MountOptions {
  /**
   * The mount refuses every change (MS_RDONLY and EROFS from the server; `-o ro`). Default
   * false: read-write, every change goes to the source.
   */
  readOnly?: boolean;
  writeMode?: WriteMode;
  /**
   * `-o writeback_cache`: the kernel keeps written pages and sends them later in large WRITEs
   * (faster small writes), trusting its own cached size and times. Off by default: with it, a
   * change made to the source underneath (not through the mount) can be overwritten by pages
   * the kernel still holds.
   */
  writebackCache?: boolean;
  readMode?: ReadMode;
  headerMode?: HeaderMode;
  /** Largest READ the kernel may send, in bytes (default 1 MiB, clamped to what is granted). */
  maxRead?: number;
  /**
   * Pipe size in pages for splice. Unset: as large as the system allows (pipe-max-size) and
   * max_pages chosen so that every aligned READ reply fits the pipe. Set: the pipe has exactly
   * this size and replies that do not fit go by copy (16 reproduces the original 15-page limit);
   * with writeMode splice max_pages is still fitted to it, since every request is spliced into it.
   */
  pipePages?: number;
  /** Every open gets FOPEN_DIRECT_IO: every user read becomes a READ request. */
  directIo?: boolean;
  /** Users other than root may use the mount (`-o allow_other`). Default false. */
  allowOther?: boolean;
  /**
   * The kernel checks every access with the caller's credentials against the mirrored mode,
   * owner, group and POSIX ACLs (`default_permissions` + FUSE_POSIX_ACL). Default true; false
   * (`-o no_default_permissions`) makes every user who can reach the mount act with the server's
   * root access, and is logged as a warning together with allowOther.
   */
  defaultPermissions?: boolean;
  /** What mountinfo shows as the mount's source (default: the source path). */
  fsname?: string;
  /**
   * The filesystem type becomes `fuse.SUBTYPE` (mountinfo, df -T, `mount -t`), as libfuse does
   * with `subtype=`. Default: `fuse.splicefs`. Letters, digits and `._+-`.
   */
  subtype?: string;
  /**
   * Mount flags (mount(2)).
   * suid: set-user-ID and set-group-ID bits of files on the mount take effect (default false:
   * MS_NOSUID). dev: device files on the mount open their devices (default false: MS_NODEV).
   * Both need root: refused (SplicefsError, exit code 1) for any other user, as fusermount3
   * refuses them.
   */
  suid?: boolean;
  dev?: boolean;
  /** Programs on the mount may be executed (default true; false: MS_NOEXEC, `-o noexec`). */
  exec?: boolean;
  /**
   * Access-time policy of the mount: 'relatime' (the kernel's default), 'noatime'
   * (MS_NOATIME), 'strictatime' (MS_STRICTATIME). Shown in mountinfo.
   */
  atime?: AtimeMode;
  /** Directory access times follow `atime` (default true; false: MS_NODIRATIME). */
  diratime?: boolean;
  /** Attribute and entry cache timeout, seconds (default 1). */
  timeout?: number;
  /**
   * Worker threads that read the connection on cloned /dev/fuse fds and execute READ replies
   * end to end (0: the event loop serves everything itself). Default 2.
   */
  threads?: number;
  /**
   * Microseconds a worker, or the event loop when it reads the device, keeps polling for the
   * next request before sleeping (default 50; 0 = sleep at once).
   */
  spinUs?: number;
  /**
   * Let the workers park while nearly every request is one the event loop answers: the loop
   * then reads the device itself (transport/phases.ts). Default true; false keeps the workers
   * reading always (never with --write-mode splice, whose WRITEs the reading worker splices).
   */
  parkWorkers?: boolean;
  /** Readahead window of the mount's bdi in KiB (default 1024; the kernel's own is 128). */
  readaheadKb?: number;
  /**
   * Background requests (readahead, async direct I/O) the kernel keeps in flight before it makes
   * readers wait (default 64; the kernel's own is 12). The congestion threshold is 3/4 of it.
   */
  maxBackground?: number;
  /** READs asking for fewer bytes than this go by copy even in splice modes (default 8192; 0: none). */
  spliceMin?: number;
  /**
   * Node fds (one O_PATH fd per remembered file) the server holds at most; past it the least
   * recently used nodes give theirs back and re-open on demand (by file handle, or by parent and
   * name). Default: the fd limit (raised to the hard limit at start) minus a quarter, at least
   * 256, kept for open files, pipes and the runtime. Lowered by itself when a limit is hit.
   */
  nodeFds?: number;
  /**
   * A control socket for `splicefs stats` and `splicefs set` (default true): /run/splicefs/
   * (root) or $XDG_RUNTIME_DIR/splicefs/, 0600 in a 0700 directory (src/control/socket-path.ts).
   * If it cannot be made, the mount serves without it and logs a warning.
   */
  control?: boolean;
  /**
   * Serve the counters in the Prometheus text format on http://host:port/metrics (default: off;
   * host defaults to 127.0.0.1; port 0 picks a free one, see MountInfo.metrics). A port that is
   * taken fails the mount with a SplicefsError.
   */
  metrics?: MetricsOptions;
  /**
   * Who mounts (src/mnt/connection.ts): 'auto' (default) is mount(2) by this process as root
   * and the fusermount3 helper (Debian package fuse3) for anyone else; 'fusermount3' uses the
   * helper as root too; 'none' always mount(2) (a non-root server with CAP_SYS_ADMIN).
   */
  mountHelper?: MountHelper;
  /**
   * `-o auto_unmount`: fusermount3 stays behind and unmounts the mount if this process ends
   * without unmounting (a crash, kill -9), so no stale mount is left. Always through the helper,
   * as root too (refused with mountHelper 'none'). Default false.
   */
  autoUnmount?: boolean;
  /** How long mount() waits for the kernel's INIT before it unmounts and rejects (ms, default 10000). */
  initTimeoutMs?: number;
  logger?: Logger;
  logLevel?: string;
}

/** What was negotiated and chosen at mount; also logged in the "mounted" line. */
export interface MountInfo {
  /** The resolved source path for people: UTF-8, with other bytes escaped as \xNN (showPath). */
  source: string;
  /** The resolved mountpoint, escaped like source. */
  mountpoint: string;
  /** The resolved source path's bytes. */
  sourceBytes: Buffer;
  /** The resolved mountpoint's bytes (what umount2 takes). */
  mountpointBytes: Buffer;
  allowOther: boolean;
  /** Permission checks are on (see MountOptions.defaultPermissions). */
  defaultPermissions: boolean;
  /** Who mounted it: 'mount(2)' (this process, as root) or 'fusermount3' (the helper). */
  mountedBy: MountMechanism;
  /** The helper stays to unmount the mount if the server dies (`-o auto_unmount`). */
  autoUnmount: boolean;
  /** The filesystem type given to mount(2): `fuse.splicefs`, or `fuse.SUBTYPE`. */
  fstype: string;
  /** The mount(2) flags by the names mount(8) gives them, e.g. ['ro', 'nosuid', 'nodev', 'noatime']. */
  mountFlags: string[];
  protocol: string;
  maxRead: number;
  maxPages: number;
  maxReadahead: number;
  readaheadKb: number | null;
  maxBackground: number;
  congestionThreshold: number;
  spliceMin: number;
  pipeBytes: number;
  pipeSlots: number;
  readOnly: boolean;
  readMode: ReadMode;
  /**
   * Kernel passthrough on this mount: 'on' (granted at INIT; files still fall back one by one
   * where the kernel refuses), 'unused' (granted, but the read mode never asks for it), or why
   * it is off: 'notOffered' (the kernel lacks it) | 'writebackCache' | 'noCapability'.
   */
  passthrough: string;
  /** the write mode: auto (copy, and splice for streams of large WRITEs), splice or copy */
  writeMode: WriteMode;
  writebackCache: boolean;
  headerMode: 'patch' | 'write';
  vmspliceAliases: boolean;
  directIo: boolean;
  threads: number;
  flags: string[];
  /** The control socket `splicefs stats MOUNTPOINT` talks to; null without one. */
  controlSocket: string | null;
  /** The Prometheus endpoint as "host:port" (the real port where 0 was asked for); null when off. */
  metrics: string | null;
}

// ---- defaults -------------------------------------------------------------------------

export const DEFAULT_MAX_READ = 1024 * 1024;
/** Measured on 2 cores, one run each with `node benchmarks/bench.js --workloads c` (and
 * `--workloads a,d,e --runs 3 --runtime 5 --file-gib 1`) `--systems splicefs-splice[,bindfs]
 * --splicefs-args="--threads N"`: 2 against 1 gave c 2216 vs 972 MiB/s (bindfs in the same runs
 * 1691 and 1013), a 2504 vs 1819, d 155 vs 131, e 587 vs 560. Buffered readers need the copy into
 * their fresh page-cache pages, which the splice into /dev/fuse does on the worker, on both cores;
 * since the spin adapts, the second worker no longer costs the 4 KiB QD1 case. */
export const DEFAULT_THREADS = 2;
export const DEFAULT_READAHEAD_KB = 1024;
/** Measured: a worker that waits 50 µs awake before sleeping answers the next request without a
 * wake-up (tens of µs on this VM): 4 KiB QD1 reads 3x, 128 KiB O_DIRECT 1.5x, measured with
 * `npm run bench -- --workloads d,b128k --systems splicefs-splice --splicefs-args="--spin-us N"` for N = 0, 50. */
export const DEFAULT_SPIN_US = 50;
/** Measured: with the kernel's 12, four buffered readers (workload c) wait on the background
 * limit; 64 gave splice 1.17x (2202-2333 against 2496-2622 MiB/s, 3 runs each, 4 x 512 MiB
 * files, the fio arguments of `npm run bench -- --workloads c`, the limit set through fusectl). */
export const DEFAULT_MAX_BACKGROUND = 64;
/** Measured: a one-page READ costs splice three syscalls (header, data, device) against
 * copy's two, and saves nothing worth it; by copy, 4 KiB QD16 reads (e) went 428-468 to
 * 524-649 MiB/s and QD1 (d) stayed at 130-134 (`npm run bench -- --workloads b1M,b128k,d,e
 * --systems splicefs-copy,splicefs-splice --runs 3 --runtime 5 --file-gib 1
 * --splicefs-args="--splice-min N"`, N = 0, 8192, 65536, twice each for 0 and 8192). */
export const DEFAULT_SPLICE_MIN = 8192;
export const DEFAULT_INIT_TIMEOUT_MS = 10_000;
export const DEFAULT_TIMEOUT_S = 1;

// ---- validation -----------------------------------------------------------------------

export const READ_MODES: readonly ReadMode[] = ['auto', 'passthrough', 'splice', 'copy'];
const WRITE_MODES: readonly WriteMode[] = ['auto', 'splice', 'copy'];
const HEADER_MODES: readonly HeaderMode[] = ['auto', 'patch', 'write'];
export const ATIME_MODES: readonly AtimeMode[] = ['relatime', 'noatime', 'strictatime'];

/**
 * What an option takes, in the words every message about it uses ("a whole number from 0 to
 * 64"), and the test a value must pass. The CLI checks its values with the same rules, so the
 * two front ends cannot disagree on a range.
 */
export interface Rule {
  takes: string;
  ok(v: unknown): boolean;
}

const wholeFrom = (min: number, max: number): Rule => ({
  takes: `a whole number from ${min} to ${max}`,
  ok: (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
});
/** The rule of an option that takes one word of `set`. */
export const oneOf = (set: readonly string[]): Rule => ({ takes: `one of ${set.join(', ')}`, ok: (v) => set.includes(v as string) });
const BOOLEAN: Rule = { takes: 'true or false', ok: (v) => typeof v === 'boolean' };

/** Every option with a value to check, in the order validate() checks them. */
export const RULES = {
  readMode: oneOf(READ_MODES),
  writeMode: oneOf(WRITE_MODES),
  headerMode: oneOf(HEADER_MODES),
  maxRead: wholeFrom(1, 2 ** 30),
  // Static: what the kernel grants depends on pipe-max-size and capabilities, checked at mount
  // (setup.ts pipeRefused).
  pipePages: wholeFrom(1, 2 ** 18),
  readaheadKb: wholeFrom(1, 2 ** 20),
  maxBackground: wholeFrom(1, 65535),
  spliceMin: wholeFrom(0, 2 ** 30),
  initTimeoutMs: wholeFrom(1, 2 ** 31 - 1),
  spinUs: wholeFrom(0, 1_000_000),
  threads: wholeFrom(0, 64),
  nodeFds: wholeFrom(1, 2 ** 30),
  timeout: { takes: 'seconds from 0 to 2147483647', ok: (v) => typeof v === 'number' && v >= 0 && v <= 2 ** 31 - 1 },
  // Commas would split the mount's option string, white space its line in mountinfo.
  fsname: { takes: 'a name without commas or white space', ok: (v) => typeof v === 'string' && /^[^,\s]+$/.test(v) },
  subtype: { takes: 'a name of letters, digits and ._+-', ok: (v) => typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(v) },
  mountHelper: oneOf(MOUNT_HELPERS),
  atime: oneOf(ATIME_MODES),
  suid: BOOLEAN,
  dev: BOOLEAN,
  exec: BOOLEAN,
  diratime: BOOLEAN,
  readOnly: BOOLEAN,
  writebackCache: BOOLEAN,
  autoUnmount: BOOLEAN,
  directIo: BOOLEAN,
  allowOther: BOOLEAN,
  defaultPermissions: BOOLEAN,
  parkWorkers: BOOLEAN,
  control: BOOLEAN,
} as const satisfies Partial<Record<keyof MountOptions, Rule>>;

/** An option RULES checks. */
export type RuledKey = keyof typeof RULES;

/** Throws an OptionError (exit code 2) if `value` is not what option `key` takes. */
export function checkOption(key: RuledKey, value: unknown): void {
  const rule: Rule = RULES[key];
  if (value !== undefined && !rule.ok(value)) throw new OptionError(key, value, (name, v) => `${name} takes ${rule.takes}, not ${v}`);
}

/**
 * Throws an OptionError naming the first option out of range (exit code 2), or a SplicefsError
 * for an option this user may not have (suid, dev for anyone but root, exit code 1; `euid`: the
 * effective uid).
 */
export function validate(opts: MountOptions, euid: number = process.geteuid?.() ?? 0): void {
  for (const key of Object.keys(RULES) as RuledKey[]) checkOption(key, opts[key]);
  if (opts.metrics !== undefined) validateMetrics(opts.metrics);
  // What fusermount3 refuses to non-root users, and why: a user who may mount a tree they
  // control with these would become root (a set-user-ID shell, a raw disk's device node).
  if (euid !== 0 && opts.suid) throw new SplicefsError(`suid needs root: set-user-ID files would run as their owner (running as uid ${euid})`);
  if (euid !== 0 && opts.dev) throw new SplicefsError(`dev needs root: device files would open their devices (running as uid ${euid})`);
}
