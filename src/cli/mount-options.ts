// `-o OPT[,OPT...]`: the mount options every libfuse server takes, the way libfuse and
// mount(8) spell them, plus splicefs's own long options in -o form (`-o read_mode=copy`, so
// that an fstab line can say everything the command line can). Applied in the order given, so
// the last of two opposites wins (`-o nosuid,suid` is suid), as with mount(8).
import type { MountOptions } from '../api/options.js';
import { shown, usageError } from './args.js';

/** What -o options set (config.ts's ServeConfig has these fields and more). */
export interface MountOptionTarget {
  mount: MountOptions;
  /** -o debug (or -d): log every request, stay in the foreground. */
  debug: boolean;
  /** -o allow_root was given (checked against allow_other once every option is in). */
  allowRoot: boolean;
}

type Apply = (c: MountOptionTarget) => void;

/** Options without a value, by name. */
const FLAGS = new Map<string, Apply>(Object.entries({
  ro: (c) => (c.mount.readOnly = true),
  rw: (c) => (c.mount.readOnly = false),
  // libfuse's name: the kernel caches writes and sends them later (see MountOptions.writebackCache).
  writeback_cache: (c) => (c.mount.writebackCache = true),
  no_writeback_cache: (c) => (c.mount.writebackCache = false),
  suid: (c) => (c.mount.suid = true),
  nosuid: (c) => (c.mount.suid = false),
  dev: (c) => (c.mount.dev = true),
  nodev: (c) => (c.mount.dev = false),
  exec: (c) => (c.mount.exec = true),
  noexec: (c) => (c.mount.exec = false),
  // mount(8)'s atime only undoes noatime: the kernel's default (relatime) applies again.
  atime: (c) => (c.mount.atime = undefined),
  noatime: (c) => (c.mount.atime = 'noatime'),
  relatime: (c) => (c.mount.atime = 'relatime'),
  strictatime: (c) => (c.mount.atime = 'strictatime'),
  diratime: (c) => (c.mount.diratime = true),
  nodiratime: (c) => (c.mount.diratime = false),
  async: () => {}, // the default (MS_SYNCHRONOUS is not offered: every write already goes to the source at once)
  allow_other: (c) => (c.mount.allowOther = true),
  // libfuse: root and the mounting user. Not offered (without allow_other the kernel lets in
  // the mounting user alone: root when root mounts); accepted, changing nothing, so that fstab
  // lines written for other FUSE servers keep working.
  allow_root: (c) => (c.allowRoot = true),
  // fusermount3 stays behind and unmounts if the server dies (mnt/fusermount.ts).
  auto_unmount: (c) => (c.mount.autoUnmount = true),
  default_permissions: (c) => setChecks(c, true),
  no_default_permissions: (c) => setChecks(c, false),
  debug: (c: MountOptionTarget) => (c.debug = true),
}));

/** Options with a value (NAME=VALUE), by name. */
const VALUED = new Map<string, (c: MountOptionTarget, v: string) => void>([
  ['fsname', (c, v) => (c.mount.fsname = v)],
  ['subtype', (c, v) => (c.mount.subtype = v)],
]);

/**
 * mount(8)'s own options, which it (and mount.fuse3) normally strip before a server sees them:
 * ignored, as mount.fuse3 does, so that a server started by hand with an fstab line's options
 * accepts them. `x-*` (x-systemd.automount, ...) and `comment=` are userspace-only by definition.
 */
const FSTAB_ONLY = new Set(['defaults', 'auto', 'noauto', 'user', 'users', 'nouser', 'owner', 'group', 'nofail', '_netdev']);

function setChecks(c: MountOptionTarget, on: boolean): void {
  // Saying both is a mistake to point out, not a precedence rule to guess.
  if (c.mount.defaultPermissions === !on) usageError('-o default_permissions and no_default_permissions contradict each other');
  c.mount.defaultPermissions = on;
}

/**
 * Apply one -o list ("ro,allow_other,fsname=x") to `c`. `other(name, value)` is asked about a
 * name this table does not know (config.ts: the long options in -o form) and returns false if
 * it does not know it either: then the option is a usage error.
 */
export function applyMountOptions(list: string, c: MountOptionTarget, other: (name: string, value: string | undefined) => boolean): void {
  for (const item of list.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (FSTAB_ONLY.has(name) || name.startsWith('x-') || name === 'comment') continue;
    const flag = FLAGS.get(name);
    if (flag) {
      if (value !== undefined) usageError(`-o ${name} takes no value`);
      flag(c);
      continue;
    }
    const valued = VALUED.get(name);
    if (valued) {
      if (!value) usageError(`-o ${name} needs a value (${name}=VALUE)`);
      valued(c, value);
      continue;
    }
    if (!other(name, value)) usageError(`unknown mount option '${shown(name)}'`);
  }
}

/** The checks that need every option: contradictions that no order can settle. */
export function checkMountOptions(c: MountOptionTarget): void {
  if (c.allowRoot && c.mount.allowOther) usageError("-o allow_other and allow_root contradict each other (as in libfuse)");
}
