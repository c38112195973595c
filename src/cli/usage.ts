// What `splicefs --help` and `splicefs --version` print. A subcommand adds its line to
// COMMANDS; an option of the mount command adds its lines to OPTIONS_HELP.
import { readFileSync } from 'node:fs';
import { FUSE_KERNEL_VERSION, FUSE_OUR_MINOR } from '../kernel/abi.js';
import { LOG_LEVELS } from '../log.js';

const COMMANDS = `usage: splicefs SOURCE MOUNTPOINT [options]    mount, serve in the foreground
       splicefs umount MOUNTPOINT               unmount (a stale mount of a killed server too)
       splicefs stats MOUNTPOINT [--json] [--watch]   a running server's counters (--watch:
                                                MiB/s per read and write path every second)
       splicefs set MOUNTPOINT read-mode MODE   the read path of files opened from now on
                                                (auto|passthrough|splice|copy; open files
                                                keep theirs)
       splicefs bench [options]                 the benchmark (splicefs bench --help)
       mount -t fuse.splicefs SOURCE MOUNTPOINT [-o ...]   through mount(8) / fstab: daemon`;

const OPTIONS_HELP = `Mirror the directory SOURCE onto MOUNTPOINT through FUSE, read-write (-o ro: read-only).
File data goes through the kernel (passthrough), or READ replies are spliced into /dev/fuse.
Runs in the foreground (Ctrl-C or SIGTERM unmounts, and so does the exit of the process that
started it); started by mount(8), or with --daemon, it returns once the mount is ready and
serves in the background, logging to a file.
Paths are taken as the bytes given (they need not be UTF-8); messages show other bytes as \\xNN.

options:
  --read-mode auto|passthrough|splice|copy
                                how file data travels (default auto: kernel passthrough
                                where the kernel takes it, else splice, else copy per file;
                                passthrough: the kernel reads and writes the source file
                                itself, no READ or WRITE reaches the server (Linux 6.9+,
                                root, not with writeback_cache), splice where it refuses;
                                splice: every READ spliced, never give up splicing a file;
                                copy: pread + write only)
  --write-mode auto|splice|copy how WRITE payloads reach the backing file (default auto:
                                copy, and splice while large WRITEs stream in; splice: every
                                request spliced from /dev/fuse through a pipe, payloads on into
                                the file; copy: the request read whole, one pwrite)
  --header-mode auto|patch|write  how a spliced reply's header gets its length (default auto:
                                patch where vmsplice references memory, else write)
  --max-read BYTES              largest READ (default 1048576; clamped to what the kernel
                                grants and to what the pipe holds)
  --pipe-pages N                pipe size in pages (default: the largest allowed); replies
                                that do not fit go by copy (16 = the original 15-page limit);
                                with --write-mode splice, WRITEs are cut to fit it (17+)
  --readahead-kb KB             the mount's readahead window (default 1024; kernel's: 128)
  --max-background N            readahead/async requests in flight before readers wait
                                (default 64; kernel's: 12)
  --splice-min BYTES            READs asking for fewer bytes go by copy in splice modes
                                (default 8192: one-page READs are copied)
  --threads N                   worker threads serving READs on cloned /dev/fuse fds
                                (default 2; 0 = the event loop serves everything)
  -s                            single thread: --threads 0
  --spin-us US                  a worker (or the event loop, when it reads the device)
                                polls this long for the next request before it sleeps
                                (default 50; 0: sleep at once)
  --no-park                     workers always read the device (default: they park and
                                the event loop reads it while it answers nearly every request)
  --direct-io                   FOPEN_DIRECT_IO on every open: every read reaches the server
  --mount-helper auto|none|fusermount3   who mounts (default auto: mount(2) as root,
                                fusermount3 for anyone else and for auto_unmount)
  --node-fds N                  O_PATH fds kept for remembered files (default: the fd limit,
                                raised to the hard limit, minus a quarter); past it the least
                                recently used give theirs back and re-open on demand
  --timeout SECONDS             attribute and entry cache timeout (default 1)
  --log-level LEVEL             ${LOG_LEVELS.join(', ')} (default info;
                                debug: a line per request and reply, READs only when they fail;
                                trace: every READ too)
  --log-format pretty|json      the log on stderr (default: text on a terminal, else JSON)
  -d, -o debug                  --log-level debug, and stay in the foreground
  -f                            stay in the foreground (even when started by mount(8))
  --daemon                      return once the mount is ready, serve in the background
  --log-file PATH               where the log goes (appended): a daemon's (default
                                /var/log/splicefs/MOUNTPOINT.log, for a user
                                ~/.local/state/splicefs/ ($XDG_STATE_HOME), the mountpoint
                                escaped as systemd-escape --path does), or a foreground
                                server's
  --stats                       print the counters as one JSON object on stdout at exit
  --metrics [HOST:]PORT         serve the counters for Prometheus at http://HOST:PORT/metrics
                                (HOST default 127.0.0.1; off by default)
  -V, --version                 the version
  -h, --help                    this text
  -o OPT[,OPT...]               mount options, as libfuse servers take them:
       rw, ro                   read-write (the default), or read-only: every change is
                                refused with EROFS
       writeback_cache          the kernel caches writes and sends them later, in large
                                WRITEs (faster small writes; off by default: a change made
                                to the source underneath may be overwritten by pages the
                                kernel still holds)
       nosuid, nodev            the defaults; suid, dev: honoured for root only
       exec, noexec             programs on the mount may run (default exec)
       relatime, noatime, strictatime, atime, nodiratime, diratime   access-time flags
       allow_other              let every user use the mount (default: the mounting user
                                only); a user needs user_allow_other in /etc/fuse.conf
       allow_root               accepted, changes nothing (fstab lines of other servers)
       default_permissions      the kernel checks every access with the caller's uid,
                                groups and capabilities against the source's mode,
                                owner, group and POSIX ACLs, as the source would
                                (on by default, with or without allow_other)
       no_default_permissions   no checks: whoever can reach the mount reads what the
                                server (root) can read; with allow_other that is
                                every user (logged as a warning)
       fsname=NAME              what mountinfo and df show as the source
       subtype=NAME             the filesystem type becomes fuse.NAME
       auto_unmount             fusermount3 stays and unmounts if the server dies (kill -9)
       NAME=VALUE, NAME         any long option above (read_mode=copy, threads=4,
                                direct_io, log_file=PATH, ...), for fstab lines
       defaults, noauto, user, nofail, _netdev, x-*, ...   fstab-only: ignored`;

export const USAGE = `${COMMANDS}\n\n${OPTIONS_HELP}`;

/** The package's version, from package.json (two levels up from src/cli/ and dist/cli/). */
export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `splicefs --version`: the version and the FUSE protocol it speaks (it needs no libfuse). */
export function versionText(): string {
  return `splicefs ${version()}\nFUSE kernel protocol ${FUSE_KERNEL_VERSION}.${FUSE_OUR_MINOR} (no libfuse)`;
}
