// The CLI's log as a person and a program each want it: readable text when stderr is a terminal
// (run in a pseudo-terminal by script(1)), JSON when it is a pipe, and --log-format forcing
// either. The mount line in text is one short sentence; in JSON it is the full record.
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { CLEAN_NODE, CLI, cli, oneLineError } from '../helpers/cli.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

/** Terminal colour sequences and the terminal's \r, which a pty adds to every line. */
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

/**
 * Run `splicefs SRC MNT args...` until its mount line, unmount it from outside, and return
 * everything it wrote to stderr (in a pty: to the terminal). Never leaves a mount behind.
 */
async function logOf(t: Test, args: string[], pty: boolean): Promise<string> {
  const src = freshDir('fmt-src');
  const mnt = freshDir('fmt-mnt');
  const argv = [...CLEAN_NODE, CLI, src, mnt, ...args];
  // script -e: its exit status is the command's; the typescript file is /dev/null, so what the
  // command writes to the terminal comes out on script's stdout.
  const child = pty
    ? spawn('script', ['-qec', argv.join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  // Through a pipe the log must be on stderr only: stdout is --stats's. (A pty merges them.)
  child.stdout.on('data', (b: Buffer) => (pty ? (out += b.toString()) : (stdout += b.toString())));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (isMounted(mnt)) await forceUnmount(mnt);
    if (!isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
  });
  await within(20_000, 'the mount line', (async () => {
    while (!/mounted/.test(out)) await new Promise((r) => setTimeout(r, 20));
  })());
  const u = await cli(['umount', mnt]);
  t.equal(u.code, 0, 'unmounted from outside');
  t.equal(await within(10_000, 'the server exiting', exited), 0, 'the server exits 0');
  child.stdin.end();
  if (!pty) t.equal(stdout, '', 'nothing on stdout');
  return strip(out);
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const isJson = (l: string) => {
  try {
    return typeof JSON.parse(l) === 'object';
  } catch {
    return false;
  }
};

function assertText(t: Test, log: string, what: string): void {
  const ls = lines(log);
  t.ok(ls.length >= 2, `${what}: the mount and stop lines`, { log });
  t.notOk(ls.some(isJson), `${what}: no JSON line`, { log });
  // read mode auto says what it means on this mount: kernel passthrough (else splice), or why
  // passthrough is off (src/log-pretty.ts).
  const mounted = /INFO.*: mounted \S+ -> \S+: protocol 7\.\d+, read mode auto \((kernel passthrough, else splice|kernel passthrough off: \w+)\), threads \d+, max_read \d+ KiB$/;
  t.ok(ls.some((l) => mounted.test(l)), `${what}: the short mount line`, { log });
  t.ok(ls.some((l) => /INFO.*: stopped .*reason=unmounted/.test(l)), `${what}: the stop line`, { log });
}

function assertJson(t: Test, log: string, what: string): void {
  const ls = lines(log);
  t.ok(ls.length >= 2 && ls.every(isJson), `${what}: every line is JSON`, { log });
  const mounted = ls.map((l) => JSON.parse(l) as Record<string, unknown>).find((j) => j.msg === 'mounted');
  t.match(mounted, { readMode: 'auto', passthrough: String, protocol: String, maxRead: Number, pipeBytes: Number, flags: Array }, `${what}: the full mount record`);
}

t.test('in a terminal: text', async (t) => assertText(t, await logOf(t, [], true), 'pty'));
t.test('in a terminal, --log-format json: JSON', async (t) => assertJson(t, await logOf(t, ['--log-format', 'json'], true), 'pty + json'));
t.test('through a pipe: JSON', async (t) => assertJson(t, await logOf(t, [], false), 'pipe'));
t.test('through a pipe, --log-format pretty: text', async (t) => assertText(t, await logOf(t, ['--log-format', 'pretty'], false), 'pipe + pretty'));

t.test('--log-format takes pretty or json, nothing else', async (t) => {
  const r = await cli(['/tmp', '/tmp', '--log-format', 'xml']);
  oneLineError(t, '--log-format xml', r, /--log-format takes one of pretty, json, not 'xml' \(see splicefs --help\)$/, 2);
});

leftoverCheck(t);
