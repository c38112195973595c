// `-o OPT[,OPT...]`: the mount options every libfuse server takes, the way libfuse and
// mount(8) spell them, plus splicefs's own long options in -o form (`-o read_mode=copy`, so
// that an fstab line can say everything the command line can). Applied in the order given, so
// the last of two opposites wins (`-o nosuid,suid` is suid), as with mount(8).
import { RULES, type MountOptions, type Rule, type RuledKey } from '../api/options.js';
import { badValue, needsValue, shown, usageError } from './args.js';

/** How the user gave an option: as typed ('--threads', '-o threads') and its value's text. */
export interface Given {
  spelled: string;
  raw: string;
}

/** What -o options set (config.ts's ServeConfig has these fields and more). */
export interface MountOptionTarget {
  mount: MountOptions;
  /**
   * How each option with a value was given, for messages about it made later: a contradiction,
   * or an error of mount() (serve.ts says it with the option as typed, not its API name).
   */
  given: Partial<Record<keyof MountOptions, Given>>;
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

/** Options with a value (NAME=VALUE), by name: the MountOptions key each sets. */
const VALUED = new Map<string, 'fsname' | 'subtype'>([
  ['fsname', 'fsname'],
  ['subtype', 'subtype'],
]);

/**
 * Set `c.mount[key]` to `value` if the API's rule for it takes it, else a usage error naming
 * the option as typed (`spelled`) and the value as given (`raw`): the CLI says a bad value
 * itself, in its own words, before anything starts.
 */
export function setChecked<K extends RuledKey>(c: MountOptionTarget, key: K, value: MountOptions[K], spelled: string, raw: string): void {
  const rule: Rule = RULES[key];
  if (!rule.ok(value)) badValue(spelled, rule.takes, raw);
  c.mount[key] = value;
  c.given[key] = { spelled, raw };
}

/** An option as the user typed it with its value: `--threads 2`, `-o threads=2`. */
export function typed(g: Given): string {
  return g.spelled.startsWith('-o ') ? `${g.spelled}=${g.raw}` : `${g.spelled} ${g.raw}`;
}

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
      if (value !== undefined) usageError(`-o ${name} takes no value, not '${shown(value)}'`);
      flag(c);
      continue;
    }
    const key = VALUED.get(name);
    if (key) {
      if (value === undefined) needsValue(`-o ${name}`, `${name}=NAME`, { takes: RULES[key].takes });
      setChecked(c, key, value, `-o ${name}`, value);
      continue;
    }
    if (!other(name, value)) usageError(`unknown mount option '${shown(name)}'`);
  }
}

/** The checks that need every option: contradictions that no order can settle. */
export function checkMountOptions(c: MountOptionTarget): void {
  if (c.allowRoot && c.mount.allowOther) usageError("-o allow_other and allow_root contradict each other (as in libfuse)");
  // mount() refuses it too (mnt/connection.ts), in the API's words; here it gets the user's.
  const helper = c.given.mountHelper;
  if (c.mount.autoUnmount && c.mount.mountHelper === 'none' && helper)
    usageError(`-o auto_unmount and ${typed(helper)} contradict each other (auto_unmount needs fusermount3)`);
}
