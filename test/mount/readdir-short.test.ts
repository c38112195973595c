// Issue 9, fault 2: a directory listing must never come back short with exit 0. When the
// server is short of file descriptors, a listing tool either sees every entry the source has,
// or fails loudly (non-zero exit, a message). Silently dropped entries are the lie.
//
// Each listing runs against a fresh server (started by the CLI, as users do, with the fd limit
// of the case), so one tool's leftovers do not decide the next one's result.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { completeOrLoud, fdCount, needTools, onBoth, PY, scratch, sh, startMounted, type CliServer } from '../helpers/mirror.js';

const LOW = 1024;

function files(dir: string, n: number, prefix = 'f'): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= n; i++) {
    const name = `${prefix}${String(i).padStart(5, '0')}`;
    writeFileSync(join(dir, name), `${name}\n`);
  }
}

/** Listings: [what, script]. $P is the directory. Output order is the tool's own. */
const LISTINGS: Array<[string, string]> = [
  ['ls -l', 'ls -l "$P"'],
  ['ls -la', 'ls -la "$P"'],
  ['ls -li (inode numbers)', 'ls -li "$P"'],
  ['ls -1U (names only, unsorted)', 'ls -1U "$P" | sort; exit ${PIPESTATUS[0]}'],
  ['find', 'find "$P" | sort; exit ${PIPESTATUS[0]}'],
  ['find -type f', 'find "$P" -type f | sort; exit ${PIPESTATUS[0]}'],
  ['find -printf (stats every entry)', 'find "$P" -printf "%P %s %n %m\\n" | sort; exit ${PIPESTATUS[0]}'],
  ['du -a', 'du -a "$P" | sort -k2; exit ${PIPESTATUS[0]}'],
  [
    'python os.scandir + entry.stat()',
    `${PY} -c "import os,sys
for e in sorted(os.scandir(sys.argv[1]), key=lambda e: e.name): print(e.name, e.stat(follow_symlinks=False).st_size)" "$P"`,
  ],
  ['tar (opens every file)', 'set -o pipefail; tar cf - -C "$P" . | tar tvf - | sort -k6'],
  ['ls -l, a second time on the same mount', 'ls -l "$P" >/dev/null 2>&1; ls -l "$P"'],
];

async function eachListing(t: Test, src: string, label: string, nofile: number | undefined, listings = LISTINGS): Promise<void> {
  for (const [what, script] of listings) {
    await t.test(`${label}: ${what}`, async (t) => {
      const mnt = scratch(t, 'mnt');
      const s = await startMounted(t, src, mnt, { nofile });
      const r = await onBoth(script, src, mnt, { timeoutMs: 120_000 });
      completeOrLoud(t, what, r);
      await stillServing(t, s, mnt);
    });
  }
}

/** After the listing: the server is alive and still answers a lookup and a read. */
async function stillServing(t: Test, s: CliServer, mnt: string): Promise<void> {
  t.notOk(s.hasExited(), 'the server is still running', { stderr: s.stderr().slice(-2000) });
  const r = await sh('stat -c %F "$1" && ls -d "$1/." >/dev/null && echo fine', [mnt], { timeoutMs: 10_000 });
  t.equal(r.stdout.toString(), 'directory\nfine\n', 'the mount still answers', { stderr: r.stderr.toString(), fds: fdCount(s.pid) });
}

t.test('needs the listing tools', async (t) => {
  await needTools(t, ['ls', 'find', 'du', 'tar', 'sort', PY]);
});

t.test(`3000 files, server at ulimit -n ${LOW}: every listing complete or failing loudly`, async (t) => {
  const src = scratch(t, 'rd3000');
  files(src, 3000);
  await eachListing(t, src, '3000 files', LOW);
});

t.test(`10 dirs of 300 files, server at ulimit -n ${LOW}: recursive listings`, async (t) => {
  const src = scratch(t, 'rd10x300');
  for (let d = 0; d < 10; d++) files(join(src, `d${d}`), 300);
  await eachListing(t, src, '10 x 300', LOW, [
    ['ls -lR', 'ls -lR "$P"'],
    ['find -printf', 'find "$P" -printf "%P %s %n\\n" | sort; exit ${PIPESTATUS[0]}'],
    ['du -a', 'du -a "$P" | sort -k2; exit ${PIPESTATUS[0]}'],
  ]);
});

t.test('30,000 files at the normal fd limit: complete or failing loudly', async (t) => {
  const limit = await sh('ulimit -n');
  t.comment(`the normal limit here: ulimit -n = ${limit.stdout.toString().trim()}`);
  const src = scratch(t, 'rd30000');
  files(src, 30_000);
  await eachListing(t, src, '30,000 files', undefined, [
    ['ls -l', 'ls -l "$P"'],
    ['find -printf (stats every entry)', 'find "$P" -printf "%P %s %n %m\\n" | sort; exit ${PIPESTATUS[0]}'],
    ['find', 'find "$P" | sort; exit ${PIPESTATUS[0]}'],
  ]);
});

leftoverCheck(t);
