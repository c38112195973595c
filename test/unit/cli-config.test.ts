// The mount command's options (src/cli/config.ts, src/cli/mount-options.ts) and the mount(2)
// flags they become (src/mnt/kernel.ts), without a process: every option sets what it says,
// in --long, short and -o forms; contradictions and refused options are one-line usage errors.
// The mount is read-write unless -o ro (MountOptions.readOnly, MS_RDONLY).
import t, { type Test } from 'tap';
import { validate } from '../../src/api/options.js';
import { effectiveLogLevel, parseServe, type ServeConfig } from '../../src/cli/config.js';
import { SplicefsError } from '../../src/errors.js';
import { USAGE } from '../../src/cli/usage.js';
import { fsType, MS, mountFlagNames, mountFlags } from '../../src/mnt/kernel.js';

const parse = (...a: string[]): ServeConfig => parseServe(['SRC', 'MNT', ...a].map((s) => Buffer.from(s)));

function usage(t: Test, args: string[], pattern: RegExp): void {
  try {
    parseServe(args.map((s) => Buffer.from(s)));
    t.fail(`${JSON.stringify(args)}: no error`);
  } catch (err) {
    const e = err as SplicefsError;
    t.ok(e instanceof SplicefsError && e.exitCode === 2 && !e.message.includes('\n'), `${JSON.stringify(args)}: one-line usage error`);
    t.match(e.message, pattern, `${JSON.stringify(args)}: ${e.message}`);
  }
}

t.test('positionals and actions', async (t) => {
  const c = parseServe(['-o', 'ro', 'S', '--threads', '1', 'M'].map((s) => Buffer.from(s)));
  t.equal(c.source.toString(), 'S', 'SOURCE, options before and between');
  t.equal(c.mountpoint.toString(), 'M', 'MOUNTPOINT');
  const odd = Buffer.from([0x2f, 0x74, 0xff]);
  t.same(parseServe([odd, Buffer.from('M')]).source, odd, 'a path is kept as its bytes');
  for (const f of ['-h', '--help']) t.equal(parseServe([Buffer.from(f)]).action, 'help', `${f}: help, no paths needed`);
  for (const f of ['-V', '--version']) t.equal(parseServe([Buffer.from(f)]).action, 'version', `${f}: version`);
  usage(t, [], /missing SOURCE and MOUNTPOINT/);
  usage(t, ['S'], /missing MOUNTPOINT/);
  usage(t, ['S', 'M', 'X'], /unexpected argument 'X'/);
});

t.test('long options set the API options', async (t) => {
  const c = parse(
    '--read-mode', 'copy', '--header-mode', 'write', '--max-read', '65536', '--pipe-pages', '16',
    '--readahead-kb', '256', '--max-background', '20', '--splice-min', '0', '--threads', '3',
    '--spin-us', '0', '--node-fds', '300', '--timeout', '2.5', '--direct-io', '--write-mode', 'splice',
  );
  t.same(c.mount, {
    readMode: 'copy', writeMode: 'splice', headerMode: 'write', maxRead: 65536, pipePages: 16, readaheadKb: 256, maxBackground: 20,
    spliceMin: 0, threads: 3, spinUs: 0, nodeFds: 300, timeout: 2.5, directIo: true,
  });
  const d = parse('--log-level', 'warn', '--log-file', '/tmp/x.log', '--stats', '--daemon');
  t.same([d.logLevel, d.logFile, d.stats, d.daemon, d.foreground], ['warn', '/tmp/x.log', true, true, false], 'CLI settings');
  t.same(parse().mount, {}, 'nothing given: every API default applies');
  t.same([parse().stats, parse().daemon, parse().foreground, effectiveLogLevel(parse())], [false, false, false, 'info'], 'CLI defaults');
});

t.test('libfuse short options: -f, -d, -s', async (t) => {
  t.equal(parse('-f').foreground, true, '-f: foreground');
  const d = parse('-d');
  t.same([d.debug, d.foreground, effectiveLogLevel(d)], [true, true, 'debug'], '-d: debug level, foreground');
  const od = parse('-o', 'debug');
  t.same([od.debug, od.foreground, effectiveLogLevel(od)], [true, true, 'debug'], '-o debug: the same');
  t.equal(effectiveLogLevel(parse('-d', '--log-level', 'trace')), 'trace', '--log-level wins over -d');
  t.equal(parse('-s').mount.threads, 0, '-s: single thread (threads 0)');
  t.equal(parse('-s', '--threads', '0').mount.threads, 0, '-s with --threads 0 agrees');
  t.equal(parse('-fsd').mount.threads, 0, 'bundled');
  usage(t, ['S', 'M', '-s', '--threads', '2'], /-s \(single thread\) and --threads 2 contradict/);
});

t.test('generic mount options', async (t) => {
  const m = (o: string) => parse('-o', o).mount;
  t.same(m('ro'), { readOnly: true }, 'ro: a read-only mount');
  t.same(m('rw'), { readOnly: false }, 'rw: read-write (the default, said out loud)');
  t.same(m('ro,rw'), { readOnly: false }, 'ro,rw: the last wins (read-write)');
  t.same(m('rw,ro'), { readOnly: true }, 'rw,ro: the last wins (read-only)');
  t.same(m('writeback_cache'), { writebackCache: true }, 'writeback_cache');
  t.same(m('writeback_cache,no_writeback_cache'), { writebackCache: false }, 'no_writeback_cache undoes it');
  t.same(m('ro,writeback_cache'), { readOnly: true, writebackCache: true }, 'ro and writeback_cache together');
  t.same(m('suid,dev'), { suid: true, dev: true }, 'suid, dev');
  t.same(m('nosuid,nodev'), { suid: false, dev: false }, 'nosuid, nodev');
  t.same(m('noexec'), { exec: false }, 'noexec');
  t.same(m('noexec,exec'), { exec: true }, 'the last of two opposites wins');
  t.same(m('noatime'), { atime: 'noatime' }, 'noatime');
  t.same(m('relatime'), { atime: 'relatime' }, 'relatime');
  t.same(m('strictatime'), { atime: 'strictatime' }, 'strictatime');
  t.same(m('noatime,atime'), { atime: undefined }, 'atime undoes noatime (kernel default)');
  t.same(m('nodiratime'), { diratime: false }, 'nodiratime');
  t.same(m('allow_other'), { allowOther: true }, 'allow_other');
  t.same(m('default_permissions'), { defaultPermissions: true }, 'default_permissions');
  t.same(m('no_default_permissions'), { defaultPermissions: false }, 'no_default_permissions');
  t.same(m('fsname=data,subtype=mirror'), { fsname: 'data', subtype: 'mirror' }, 'fsname=, subtype=');
  t.same(m('async'), {}, 'async: the default');
  t.equal(parse('-o', 'allow_root').allowRoot, true, 'allow_root: accepted (root only, the default)');
  t.same(parse('-o', 'ro', '-o', 'noexec').mount, { readOnly: true, exec: false }, '-o more than once');
  t.same(parse('-oro,noexec').mount, { readOnly: true, exec: false }, '-oOPTS');
  t.same(parse('-o', 'ro', '-o', 'rw').mount, { readOnly: false }, 'a later -o rw undoes an earlier -o ro');
});

t.test('long options in -o form (for fstab lines)', async (t) => {
  const c = parse('-o', 'read_mode=copy,threads=4,direct_io,max-read=8192,log_level=debug,log_file=/l,stats,timeout=0');
  t.same(c.mount, { readMode: 'copy', threads: 4, directIo: true, maxRead: 8192, timeout: 0 }, 'API options');
  t.same(parse('-o', 'write_mode=copy').mount, { writeMode: 'copy' }, '-o write_mode=copy');
  t.same(parse('-o', 'write-mode=splice,rw').mount, { writeMode: 'splice', readOnly: false }, '-o write-mode=splice,rw');
  usage(t, ['S', 'M', '-o', 'write_mode'], /^-o write_mode needs a value: write_mode=MODE, one of auto, splice, copy \(see splicefs --help\)$/);
  usage(t, ['S', 'M', '-o', 'writeback_cache=1'], /-o writeback_cache takes no value/);
  t.same([c.logLevel, c.logFile, c.stats], ['debug', '/l', true], 'CLI settings');
  usage(t, ['S', 'M', '-o', 'read_mode'], /-o read_mode needs a value: read_mode=MODE, one of auto, passthrough, splice, copy/);
  usage(t, ['S', 'M', '-o', 'direct_io=1'], /-o direct_io takes no value/);
  usage(t, ['S', 'M', '-o', 'threads=x'], /^-o threads takes a whole number from 0 to 64, not 'x' \(see splicefs --help\)$/);
  usage(t, ['S', 'M', '-o', 'daemon'], /unknown mount option 'daemon'/);
  usage(t, ['S', 'M', '-o', 'help'], /unknown mount option 'help'/);
});

t.test("mount(8)'s own options are ignored, as mount.fuse3 does", async (t) => {
  const c = parse('-o', 'defaults,auto,noauto,user,users,nouser,owner,group,nofail,_netdev,x-systemd.automount,x-mount.mkdir=0755,comment=x');
  t.same(c.mount, {}, 'nothing set');
  // ro and rw are not mount(8)'s alone: mount(8) passes one of them, and the server honours it.
  t.same(parse('-o', 'defaults,nofail,ro').mount, { readOnly: true }, 'ro among them still makes the mount read-only');
  t.same(parse('-o', 'defaults,nofail,rw').mount, { readOnly: false }, 'rw (what mount(8) passes without ro): read-write');
});

t.test('auto_unmount and mount_helper: the fusermount3 options', async (t) => {
  t.same(parse('-o', 'auto_unmount').mount, { autoUnmount: true }, '-o auto_unmount asks for it');
  t.same(parse('-o', 'mount_helper=fusermount3').mount, { mountHelper: 'fusermount3' }, '-o mount_helper=fusermount3');
  t.same(parse('--mount-helper', 'none').mount, { mountHelper: 'none' }, '--mount-helper none');
});

t.test('refused and contradictory mount options', async (t) => {
  usage(t, ['S', 'M', '-o', 'allow_other,allow_root'], /allow_other and allow_root contradict/);
  usage(t, ['S', 'M', '-o', 'default_permissions,no_default_permissions'], /contradict/);
  usage(t, ['S', 'M', '-o', 'frobnicate'], /^unknown mount option 'frobnicate'/);
  usage(t, ['S', 'M', '-o', 'toString'], /unknown mount option 'toString'/);
  usage(t, ['S', 'M', '-o', 'fsname='], /-o fsname takes a name without commas or white space, not ''/);
  usage(t, ['S', 'M', '-o', 'subtype'], /-o subtype needs a value/);
  usage(t, ['S', 'M', '-o', 'ro=1'], /-o ro takes no value/);
  usage(t, ['S', 'M', '-o', 'rw=1'], /-o rw takes no value/);
  usage(t, ['S', 'M', '--write-mode'], /--write-mode needs a value/);
  usage(t, ['S', 'M', '--log-level', 'shout'], /--log-level takes one of fatal, .*, silent, not 'shout'/);
  usage(t, ['S', 'M', '--timeout', '-1'], /--timeout takes seconds from 0 to 2147483647, not '-1'/);
  usage(t, ['S', 'M', '--timeout', ''], /--timeout takes seconds/);
  usage(t, ['S', 'M', '--threads=x'], /--threads takes a whole number from 0 to 64, not 'x'/);
  usage(t, ['S', 'M', '--log-file='], /--log-file takes a path, not ''/);
});

t.test('the API checks what needs the system: values, and root for suid/dev', async (t) => {
  t.throws(() => validate({ subtype: 'a,b' }), { message: /^subtype takes a name of letters, digits and \._\+-, not 'a,b'$/ });
  t.throws(() => validate({ atime: 'sometimes' as 'noatime' }), { message: /^atime takes one of relatime, noatime, strictatime, not 'sometimes'$/ });
  t.doesNotThrow(() => validate({ suid: true, dev: true }, 0), 'suid and dev for root');
  t.throws(() => validate({ suid: true }, 65534), { message: /^suid needs root: .*uid 65534/, exitCode: 1 });
  t.throws(() => validate({ dev: true }, 1000), { message: /^dev needs root: .*uid 1000/, exitCode: 1 });
  t.doesNotThrow(() => validate({ suid: false, dev: false }, 65534), 'nosuid, nodev for anyone');
});

t.test('--write-mode: the three modes; any other is a one-line usage error', async (t) => {
  for (const mode of ['auto', 'splice', 'copy'] as const) {
    const c = parse('--write-mode', mode);
    t.equal(c.mount.writeMode, mode, `--write-mode ${mode}`);
    t.doesNotThrow(() => validate(c.mount, 0), `--write-mode ${mode}: valid`);
    t.equal(parse(`--write-mode=${mode}`).mount.writeMode, mode, `--write-mode=${mode}`);
  }
  // The CLI checks the value itself (by the API's rule) and names it as typed, exit code 2.
  for (const bad of ['bogus', 'COPY', 'write', '']) {
    try {
      parse('--write-mode', bad);
      t.fail(`--write-mode '${bad}': no error`);
    } catch (err) {
      const e = err as SplicefsError;
      t.ok(e instanceof SplicefsError && e.exitCode === 2 && !e.message.includes('\n'), `--write-mode '${bad}': one-line usage error (exit code 2)`);
      t.equal(e.message, `--write-mode takes one of auto, splice, copy, not '${bad}' (see splicefs --help)`, `--write-mode '${bad}': names the modes`);
    }
  }
  t.throws(() => validate({ writeMode: 'teleport' as 'copy' }), { message: /^writeMode takes one of auto, splice, copy, not 'teleport'$/, exitCode: 2 }, 'the API refuses it too');
  t.doesNotThrow(() => validate({}, 65534), 'no write mode: the default, for anyone');
  t.doesNotThrow(() => validate({ readOnly: true, writebackCache: true }, 65534), 'readOnly and writebackCache: booleans, for anyone');
  t.throws(() => validate({ readOnly: 'yes' as unknown as boolean }), { message: /^readOnly takes true or false, not 'yes'$/, exitCode: 2 }, 'readOnly must be a boolean');
  t.throws(() => validate({ writebackCache: 1 as unknown as boolean }), { message: /^writebackCache takes true or false, not 1$/, exitCode: 2 }, 'writebackCache must be a boolean');
});

t.test('--help: read-write by default, ro, writeback_cache, --write-mode', async (t) => {
  t.notMatch(USAGE, /rw is refused|read-write mounts are not supported/, 'no word of rw being refused');
  t.match(USAGE, /mount -t fuse\.splicefs SOURCE MOUNTPOINT \[-o \.\.\.\]/, 'mount(8) needs no -o ro');
  t.match(USAGE, /read-write \(-o ro: read-only\)/, 'read-write, -o ro read-only');
  t.match(USAGE, /^ {7}rw, ro {19}read-write \(the default\), or read-only/m, '-o rw, ro');
  t.match(USAGE, /^ {7}writeback_cache {10}the kernel caches writes/m, '-o writeback_cache');
  t.match(USAGE, /^ {2}--write-mode auto\|splice\|copy how WRITE payloads/m, '--write-mode and its modes');
  // The text is wrapped by hand to under 100 columns (its widest line before read-write was 95).
  t.same(USAGE.split('\n').filter((line) => line.length > 100), [], 'every line fits 100 columns');
});

t.test('mount(2) flags', async (t) => {
  const base = MS.NOSUID | MS.NODEV;
  t.equal(mountFlags({}), base, 'default: read-write, nosuid, nodev (libfuse defaults)');
  t.equal(mountFlags({ readOnly: false }), base, 'readOnly false: no MS_RDONLY');
  t.equal(mountFlags({ readOnly: true }), MS.RDONLY | base, 'readOnly: MS_RDONLY');
  t.equal(mountFlags({ suid: true, dev: true }), 0, 'suid, dev clear the flags');
  t.equal(mountFlags({ suid: true, dev: true, readOnly: true }), MS.RDONLY, 'suid, dev, read-only: MS_RDONLY alone');
  t.equal(mountFlags({ exec: false }), base | MS.NOEXEC, 'noexec');
  t.equal(mountFlags({ atime: 'noatime', diratime: false }), base | MS.NOATIME | MS.NODIRATIME, 'noatime, nodiratime');
  t.equal(mountFlags({ atime: 'relatime' }), base | MS.RELATIME, 'relatime');
  t.equal(mountFlags({ atime: 'strictatime' }), base | MS.STRICTATIME, 'strictatime');
  t.same(mountFlagNames(mountFlags({})), ['rw', 'nosuid', 'nodev', 'relatime'], 'names as mountinfo gives them');
  t.same(mountFlagNames(mountFlags({ readOnly: true })), ['ro', 'nosuid', 'nodev', 'relatime'], 'read-only: ro');
  t.same(mountFlagNames(mountFlags({ suid: true, dev: true, exec: false, atime: 'noatime', readOnly: true })), ['ro', 'noexec', 'noatime'], 'names');
  t.equal(fsType(), 'fuse.splicefs', 'type');
  t.equal(fsType('mirror'), 'fuse.mirror', 'subtype: fuse.SUBTYPE, as libfuse');
});
