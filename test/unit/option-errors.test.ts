// Every option's bad-input message, without a process. The command line says each in one style:
// the option as typed (`--spin-us`, `-o spin_us`), what it takes, the value given, then
// "(see splicefs --help)", exit code 2. The API (mount() with MountOptions, validate()) names the
// MountOptions key and the value instead. A mount-time refusal (a pipe larger than the system
// grants) is said by the CLI with the option as typed too (serve.ts asTyped). The expected
// texts are written out here, not taken from the rules, so that a changed range shows.
import { constants } from 'node:os';
import t, { type Test } from 'tap';
import { RULES, validate, type MountOptions } from '../../src/api/options.js';
import { pipeRefused } from '../../src/api/setup.js';
import { OPTIONS, parseServe } from '../../src/cli/config.js';
import { asTyped } from '../../src/cli/serve.js';
import { validateMetrics } from '../../src/control/metrics.js';
import { OptionError, SplicefsError } from '../../src/errors.js';

const HELP = ' (see splicefs --help)';
const { EPERM, ENOMEM } = constants.errno;

/** The usage error parseServe throws for `args` after SRC MNT (fails the test if none). */
function cliError(t: Test, args: string[]): SplicefsError | null {
  try {
    parseServe(['SRC', 'MNT', ...args].map((s) => Buffer.from(s)));
  } catch (err) {
    t.ok(err instanceof SplicefsError && err.exitCode === 2, `${JSON.stringify(args)}: a usage error (exit code 2)`);
    return err as SplicefsError;
  }
  t.fail(`${JSON.stringify(args)}: accepted`);
  return null;
}

function cliSays(t: Test, args: string[], message: string): void {
  t.equal(cliError(t, args)?.message, message, JSON.stringify(args));
}

const WHOLE = (min: number, max: number) => `a whole number from ${min} to ${max}`;
/** Text that is no whole number, though Number() takes most of it. */
const NOT_WHOLE = ['-1', '1.5', '99999999999999999999', '0x10', '', ' 1', '1e3', '+1', 'x'];

/** Each valued option of the mount command: what its messages say it takes, and bad values. */
const VALUED: Record<string, [value: string, takes: string, bad: string[]]> = {
  'read-mode': ['MODE', 'one of auto, passthrough, splice, copy', ['teleport', '', 'COPY']],
  'write-mode': ['MODE', 'one of auto, splice, copy', ['bogus', '', 'write']],
  'header-mode': ['MODE', 'one of auto, patch, write', ['sideways', '']],
  'max-read': ['BYTES', WHOLE(1, 1073741824), [...NOT_WHOLE, '0', '1073741825']],
  'pipe-pages': ['N', WHOLE(1, 262144), [...NOT_WHOLE, '0', '262145']],
  'readahead-kb': ['KB', WHOLE(1, 1048576), [...NOT_WHOLE, '0', '1048577']],
  'max-background': ['N', WHOLE(1, 65535), [...NOT_WHOLE, '0', '65536']],
  'splice-min': ['BYTES', WHOLE(0, 1073741824), [...NOT_WHOLE, '1073741825']],
  threads: ['N', WHOLE(0, 64), [...NOT_WHOLE, '65']],
  'spin-us': ['US', WHOLE(0, 1000000), [...NOT_WHOLE, '1000001']],
  'node-fds': ['N', WHOLE(1, 1073741824), [...NOT_WHOLE, '0']],
  timeout: ['SECONDS', 'seconds from 0 to 2147483647', ['-1', '0x10', '1e3', '', 'inf', 'Infinity', '2147483648', '1.5.', 'x']],
  'mount-helper': ['HELPER', 'one of auto, none, fusermount3', ['x', '']],
  'log-level': ['LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', ['shout', '', 'INFO']],
  'log-format': ['FORMAT', 'one of pretty, json', ['xml', '']],
  'log-file': ['PATH', 'a path', ['']],
  metrics: ['HOST:PORT', 'PORT, HOST:PORT or [IPv6]:PORT (a port from 0 to 65535)', ['localhost', '70000', '', '-1', 'a b:1', 'a/b:1', '[::1]:', '0x10']],
};

t.test('every valued option of the CLI: the bad value named, with what it takes', async (t) => {
  const valued = OPTIONS.filter((d) => d.long && d.value);
  t.same(valued.map((d) => d.long).sort(), Object.keys(VALUED).sort(), 'the table covers every option with a value');
  for (const def of valued) {
    const long = def.long!;
    const [value, takes, bad] = VALUED[long]!;
    const under = long.replace(/-/g, '_');
    for (const v of bad) {
      cliSays(t, [`--${long}`, v], `--${long} takes ${takes}, not '${v}'${HELP}`);
      cliSays(t, [`--${long}=${v}`], `--${long} takes ${takes}, not '${v}'${HELP}`);
      // An -o list is split at commas, so a value in -o form has none.
      if (def.inMountOptions) cliSays(t, ['-o', `${under}=${v}`], `-o ${under} takes ${takes}, not '${v}'${HELP}`);
    }
    cliSays(t, [`--${long}`], `--${long} needs a value: ${value}, ${takes}${HELP}`);
    if (def.inMountOptions) cliSays(t, ['-o', under], `-o ${under} needs a value: ${under}=${value}, ${takes}${HELP}`);
  }
  // Dashes work in -o form too, and the message keeps them as typed.
  cliSays(t, ['-o', 'spin-us=-1'], `-o spin-us takes ${WHOLE(0, 1000000)}, not '-1'${HELP}`);
  // What a terminal would act on is escaped.
  cliSays(t, ['--threads', '\x1b[2J'], `--threads takes ${WHOLE(0, 64)}, not '\\x1b[2J'${HELP}`);
});

t.test('flags: a value given to one is named', async (t) => {
  for (const def of OPTIONS.filter((d) => d.long && !d.value)) {
    cliSays(t, [`--${def.long}=1`], `--${def.long} takes no value, not '1'${HELP}`);
    const under = def.long!.replace(/-/g, '_');
    if (def.inMountOptions) cliSays(t, ['-o', `${under}=yes`], `-o ${under} takes no value, not 'yes'${HELP}`);
  }
  for (const flag of ['ro', 'rw', 'writeback_cache', 'suid', 'nodev', 'noexec', 'noatime', 'allow_other', 'auto_unmount', 'default_permissions', 'debug'])
    cliSays(t, ['-o', `${flag}=1`], `-o ${flag} takes no value, not '1'${HELP}`);
});

t.test('-o NAME=VALUE of the mount options', async (t) => {
  for (const v of ['', 'a b', 'a\tb']) cliSays(t, ['-o', `fsname=${v}`], `-o fsname takes a name without commas or white space, not '${v.replace('\t', '\\x09')}'${HELP}`);
  for (const v of ['', 'a/b', '.x', 'a b']) cliSays(t, ['-o', `subtype=${v}`], `-o subtype takes a name of letters, digits and ._+-, not '${v}'${HELP}`);
  cliSays(t, ['-o', 'fsname'], `-o fsname needs a value: fsname=NAME, a name without commas or white space${HELP}`);
  cliSays(t, ['-o', 'subtype'], `-o subtype needs a value: subtype=NAME, a name of letters, digits and ._+-${HELP}`);
});

t.test('contradictions name the options as typed', async (t) => {
  cliSays(t, ['-s', '--threads', '2'], `-s (single thread) and --threads 2 contradict each other${HELP}`);
  cliSays(t, ['-s', '-o', 'threads=3'], `-s (single thread) and -o threads=3 contradict each other${HELP}`);
  const helperNone = '(auto_unmount needs fusermount3)';
  cliSays(t, ['-o', 'auto_unmount,mount_helper=none'], `-o auto_unmount and -o mount_helper=none contradict each other ${helperNone}${HELP}`);
  cliSays(t, ['--mount-helper', 'none', '-o', 'auto_unmount'], `-o auto_unmount and --mount-helper none contradict each other ${helperNone}${HELP}`);
});

t.test('good values still pass', async (t) => {
  const c = parseServe(['S', 'M', '--timeout', '.5', '--spin-us', '007', '--metrics', '[::1]:0', '-o', 'fsname=x,subtype=a.b+c'].map((s) => Buffer.from(s)));
  t.same(c.mount, { timeout: 0.5, spinUs: 7, metrics: { host: '::1', port: 0 }, fsname: 'x', subtype: 'a.b+c' }, 'parsed');
  t.doesNotThrow(() => validate(c.mount, 0), 'and valid for the API');
});

/** The API: one bad value per option, and the message that names its key. */
const API: Record<keyof typeof RULES, [unknown, string]> = {
  readMode: ['fast', "readMode takes one of auto, passthrough, splice, copy, not 'fast'"],
  writeMode: ['teleport', "writeMode takes one of auto, splice, copy, not 'teleport'"],
  headerMode: ['glue', "headerMode takes one of auto, patch, write, not 'glue'"],
  maxRead: [-1, `maxRead takes ${WHOLE(1, 1073741824)}, not -1`],
  pipePages: [1.5, `pipePages takes ${WHOLE(1, 262144)}, not 1.5`],
  readaheadKb: [0, `readaheadKb takes ${WHOLE(1, 1048576)}, not 0`],
  maxBackground: [65536, `maxBackground takes ${WHOLE(1, 65535)}, not 65536`],
  spliceMin: ['8192', `spliceMin takes ${WHOLE(0, 1073741824)}, not '8192'`],
  initTimeoutMs: [0, `initTimeoutMs takes ${WHOLE(1, 2147483647)}, not 0`],
  spinUs: [-1, `spinUs takes ${WHOLE(0, 1000000)}, not -1`],
  threads: [NaN, `threads takes ${WHOLE(0, 64)}, not NaN`],
  nodeFds: [2 ** 40, `nodeFds takes ${WHOLE(1, 1073741824)}, not 1099511627776`],
  timeout: [Infinity, 'timeout takes seconds from 0 to 2147483647, not Infinity'],
  fsname: ['a,b', "fsname takes a name without commas or white space, not 'a,b'"],
  subtype: ['a/b', "subtype takes a name of letters, digits and ._+-, not 'a/b'"],
  mountHelper: ['sudo', "mountHelper takes one of auto, none, fusermount3, not 'sudo'"],
  atime: ['sometimes', "atime takes one of relatime, noatime, strictatime, not 'sometimes'"],
  suid: [1, 'suid takes true or false, not 1'],
  dev: ['yes', "dev takes true or false, not 'yes'"],
  exec: [null, 'exec takes true or false, not null'],
  diratime: [0, 'diratime takes true or false, not 0'],
  readOnly: ['yes', "readOnly takes true or false, not 'yes'"],
  writebackCache: [1, 'writebackCache takes true or false, not 1'],
  autoUnmount: ['true', "autoUnmount takes true or false, not 'true'"],
  directIo: [1, 'directIo takes true or false, not 1'],
  allowOther: ['no', "allowOther takes true or false, not 'no'"],
  defaultPermissions: [0, 'defaultPermissions takes true or false, not 0'],
  parkWorkers: ['off', "parkWorkers takes true or false, not 'off'"],
  control: [{}, 'control takes true or false, not {}'],
};

t.test('the API names the MountOptions key, the value and the range', async (t) => {
  t.same(Object.keys(API).sort(), Object.keys(RULES).sort(), 'the table covers every option the API checks');
  for (const [key, [value, message]] of Object.entries(API)) {
    t.throws(() => validate({ [key]: value } as MountOptions, 0), { message, exitCode: 2 }, key);
    t.throws(() => validate({ [key]: value } as MountOptions, 0), SplicefsError, `${key}: a SplicefsError`);
  }
  t.throws(() => validateMetrics({ port: 70000 }), { message: `metrics.port takes ${WHOLE(0, 65535)}, not 70000`, exitCode: 2 });
  t.throws(() => validateMetrics({ port: 1, host: 'a b' }), { message: "metrics.host takes a host name or address, not 'a b'", exitCode: 2 });
  t.throws(() => validateMetrics(null as never), { message: 'metrics takes { port, host? }, not null', exitCode: 2 });
  t.throws(() => validate({ suid: true }, 1000), { message: /^suid needs root/, exitCode: 1 }, 'root-only options: exit code 1, as before');
});

t.test('a pipe larger than the system grants, at mount time', async (t) => {
  const MiB = 1024 * 1024;
  const above = pipeRefused(512, EPERM, MiB);
  t.type(above, OptionError);
  t.equal(above.exitCode, 1, 'the value is in range: the system refuses it (exit code 1)');
  const why = 'pipes stop at /proc/sys/fs/pipe-max-size (1048576 bytes) without CAP_SYS_RESOURCE (EPERM); raise it with sysctl fs.pipe-max-size=2097152';
  t.equal(above.message, `pipePages takes at most 256 on this system, not 512: ${why}`, 'API: the key, the most pages allowed, the sysctl');
  const cli = (args: string[]) => parseServe(['S', 'M', ...args].map((s) => Buffer.from(s)));
  const said = asTyped(above, cli(['--pipe-pages', '512'])) as SplicefsError;
  t.type(said, SplicefsError);
  t.equal(said.message, `--pipe-pages takes at most 256 on this system, not '512': ${why}`, 'CLI: the option as typed');
  t.equal(said.exitCode, 1, 'CLI: exit code 1, and no --help (it would not help)');
  t.equal((asTyped(above, cli(['-o', 'pipe_pages=512'])) as Error).message, `-o pipe_pages takes at most 256 on this system, not '512': ${why}`, '-o form');
  t.match(pipeRefused(300, EPERM, 4 * MiB).message, /^pipePages takes a pipe size the kernel grants, not 300: it refused 300 pages \(EPERM\)$/, 'within pipe-max-size: the errno alone (a per-user limit)');
  t.equal(pipeRefused(65536, ENOMEM, MiB).message, 'pipePages takes a pipe size the kernel grants, not 65536: it refused 65536 pages (ENOMEM)', 'another errno: said as it is');
  // A usage error from the API (validate) said as typed gets the CLI's --help ending.
  const usage = new OptionError('threads', 65, (name, v) => `${name} takes a whole number from 0 to 64, not ${v}`);
  t.equal((asTyped(usage, cli(['-o', 'threads=6'])) as Error).message, `-o threads takes ${WHOLE(0, 64)}, not '6'${HELP}`, 'exit code 2: --help');
  t.equal(asTyped(usage, cli([])), usage, 'an option the user did not give: the API words stay');
  const other = new SplicefsError('source /x does not exist');
  t.equal(asTyped(other, cli([])), other, 'other errors pass through');
});
