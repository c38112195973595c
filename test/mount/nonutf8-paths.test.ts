// issue 9, item 8: paths are bytes. A source or mountpoint that is not UTF-8 mounts, serves and
// unmounts, through the API (Buffer paths) and the CLI (argv bytes, also with node options
// before the script); mountinfo is read as bytes, so such a mountpoint (and one with the
// characters mountinfo escapes as \ooo) is found; `splicefs umount` takes the bytes; and every
// message and log line shows such a path escaped as \xNN, never with U+FFFD.
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { mount, SplicefsError } from '../../src/index.js';
import { detach } from '../../src/mnt/kernel.js';
import { findMount } from '../../src/mnt/mountinfo.js';
import { CLI, CLI_CMD, runBytes, runCli, startCli } from '../helpers/cli-bytes.js';
import { leftoverCheck, RUN_PREFIX, testRoot, within } from '../helpers/mount.js';

const FFFD = Buffer.from('\ufffd');
let seq = 0;

/** A fresh directory <testRoot>/<prefix><label>-N<tail bytes>; removed (when unmounted) at teardown. */
function byteDir(t: Test, label: string, tail: number[]): Buffer {
  const dir = Buffer.concat([Buffer.from(`${testRoot('shm')}/${RUN_PREFIX}${label}-${seq++}`), Buffer.from(tail)]);
  mkdirSync(dir, { mode: 0o755 });
  t.teardown(async () => {
    if (findMount(dir)) detach(dir);
    await runBytes(['rm', '-rf', dir]);
  });
  return dir;
}

/** `dir` + '/' + name, as bytes. */
const under = (dir: Buffer, name: string) => Buffer.concat([dir, Buffer.from(`/${name}`)]);
/** How a path with these bytes reads in messages. */
const shown = (dir: Buffer) => dir.toString('latin1').replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** A logger whose lines are kept. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) });
  return { logger: pino({ level: 'info' }, stream), lines };
}

t.test('API: Buffer source and mountpoint that are not UTF-8', async (t) => {
  const src = byteDir(t, 'src', [0xff, 0xfe]);
  const mnt = byteDir(t, 'mnt', [0xc3, 0x28]); // a lead byte without its continuation
  writeFileSync(under(src, 'f'), 'hello');
  const { logger, lines } = capture();
  const h = await within(20_000, 'mount', mount(src, mnt, { logger }));
  t.teardown(() => h.unmount({ graceMs: 0 }));
  t.ok(h.info.sourceBytes.equals(src), 'info.sourceBytes: the source bytes');
  t.ok(h.info.mountpointBytes.equals(mnt), 'info.mountpointBytes: the mountpoint bytes');
  t.equal(h.info.source, shown(src), `info.source escaped: ${h.info.source}`);
  t.equal(h.info.mountpoint, shown(mnt), `info.mountpoint escaped: ${h.info.mountpoint}`);
  t.equal(findMount(mnt)?.fstype, 'fuse.splicefs', 'mountinfo, read as bytes, has it');
  t.not(h.info.readaheadKb, null, 'the connection was found by its mountpoint (readahead set)');
  t.equal(await readFile(under(mnt, 'f'), 'utf8'), 'hello', 'reads through the mount');
  t.same(await readdir(mnt), ['f'], 'lists through the mount');
  await h.unmount();
  t.equal(findMount(mnt), undefined, 'unmounted');
  const log = lines.join('');
  t.match(log, /"msg":"mounted"/);
  t.match(log, /"msg":"stopped"/);
  t.ok(log.includes(JSON.stringify(shown(mnt))), 'log lines show the mountpoint escaped');
  t.notOk(log.includes('\ufffd'), 'no U+FFFD in any log line');
});

t.test('API: a mountpoint with the characters mountinfo escapes, and a byte that is not UTF-8', async (t) => {
  const src = byteDir(t, 'src', []);
  const mnt = byteDir(t, 'mnt', [...Buffer.from(' a\tb\nc\\d'), 0xff]);
  const h = await within(20_000, 'mount', mount(src, mnt, { logger: capture().logger }));
  t.teardown(() => h.unmount({ graceMs: 0 }));
  t.equal(findMount(mnt)?.fstype, 'fuse.splicefs', 'found in mountinfo (\\040 \\011 \\012 \\134 decoded to bytes)');
  t.not(h.info.readaheadKb, null, 'the connection was found by its mountpoint');
  t.notOk(h.info.mountpoint.includes('\n'), `one line: ${h.info.mountpoint}`);
  await h.unmount();
  t.equal(findMount(mnt), undefined, 'unmounted');
});

t.test('API: errors name such paths escaped', async (t) => {
  const dir = byteDir(t, 'err', [0xff]);
  const file = Buffer.concat([dir, Buffer.from('/file'), Buffer.from([0xfe])]);
  writeFileSync(file, 'x');
  const cases: Array<[string, Buffer, Buffer, RegExp]> = [
    ['missing source', under(dir, 'nope'), dir, /^source .*err-\d+\\xff\/nope does not exist$/],
    ['mountpoint a file', dir, file, /^mountpoint .*\\xff\/file\\xfe is not a directory$/],
  ];
  for (const [what, s, m, re] of cases) {
    const err = await mount(s, m, { logger: capture().logger }).then(
      (h) => h.unmount().then(() => null),
      (e: unknown) => e,
    );
    t.ok(err instanceof SplicefsError, `${what}: SplicefsError`);
    t.match((err as Error).message, re, `${what}: ${(err as Error).message}`);
    t.notOk((err as Error).message.includes('\ufffd'), `${what}: no U+FFFD`);
  }
});

t.test('CLI: a source and mountpoint that are not UTF-8 mount, serve and unmount', async (t) => {
  const src = byteDir(t, 'cli-src', [0xff]);
  const mnt = byteDir(t, 'cli-mnt', [0xe2, 0x82]); // a truncated 3-byte sequence
  writeFileSync(under(src, 'f'), 'hello');
  // node's own options come before the script in /proc/self/cmdline: they must not shift argv.
  const cmd = [...CLI_CMD.slice(0, -1), '--no-warnings', '--stack-size=2000', CLI];
  const s = await startCli(t, [src, mnt], async () => (findMount(mnt) ? detach(mnt) : undefined), cmd);
  t.equal(s.mounted.source, shown(src), `mounted line: source ${String(s.mounted.source)}`);
  t.equal(s.mounted.mountpoint, shown(mnt), `mounted line: mountpoint ${String(s.mounted.mountpoint)}`);
  const cat = await runBytes(['cat', under(mnt, 'f')]);
  t.equal(cat.stdout.toString(), 'hello', 'reads through the mount');
  const um = await runCli(['umount', mnt]);
  t.equal(um.code, 0, `splicefs umount with the bytes: exit 0 ${um.stderr.toString()}`);
  const { code } = await within(15_000, 'server exit', s.exited);
  t.equal(code, 0, 'the server exits 0');
  t.equal(findMount(mnt), undefined, 'nothing left mounted');
  t.match(s.stderr().toString(), /"msg":"stopped"/);
  t.equal(s.stderr().indexOf(FFFD), -1, 'no U+FFFD on stderr');
});

// (A mountpoint that is a file is the API case above: the CLI prints the same message.)
t.test('CLI: errors name such paths escaped, on one line', async (t) => {
  const dir = byteDir(t, 'cli-err', [0xff]);
  const cases: Array<[string, Buffer[], RegExp, number]> = [
    ['missing source', [under(dir, 'nope'), dir], /^splicefs: source .*\\xff\/nope does not exist$/, 1],
    ['umount of a directory that is no mount', [Buffer.from('umount'), dir], /^splicefs: .*cli-err-\d+\\xff is not a mount point$/, 1],
    // Relative: a message cuts an argument past 60 characters, and the test root (testRoot) may
    // be long; the argument is refused before any path is looked at.
    ['a third path', [dir, dir, Buffer.from([0x78, 0xff, ...Buffer.from('/file'), 0xfe])], /^splicefs: unexpected argument 'x\\xff\/file\\xfe' \(see splicefs --help\)$/, 2],
  ];
  for (const [what, args, re, code] of cases) {
    const r = await runCli(args);
    const lines = r.stderr.toString().split('\n').filter(Boolean);
    t.equal(r.code, code, `${what}: exit ${code}`);
    t.equal(lines.length, 1, `${what}: one line`);
    t.match(lines[0] ?? '', re, `${what}: ${lines[0]}`);
    t.equal(r.stderr.indexOf(FFFD), -1, `${what}: no U+FFFD`);
  }
});

leftoverCheck(t);
