// Issue 9, fault 4 (sizes, offsets and the other 64-bit values): a sparse file of 2^53 + 4096
// bytes and its neighbours (odd sizes past 2^53, 2^62 + 1, 2^63 - 1) must show the source's
// st_size; reads at offsets past 2^53 return the source's bytes; SEEK_DATA / SEEK_HOLE answer as
// on the source; statfs counters past 2^53 and 32-bit ids and far timestamps come through
// exactly. With and without --direct-io (which sends every read's own offset to the server).
//
// The source is a tmpfs of its own (max file size 2^63 - 1, sparse files, SEEK_DATA/HOLE, and a
// file count of 2^53 + 1 for statfs), so nothing else writing to /dev/shm changes its numbers.
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { mountFs, needTools, PY, sameOnBoth, scratch, sh, startMounted } from '../helpers/mirror.js';

const P53 = 2n ** 53n;
const SIZES: Record<string, bigint> = {
  big: P53 + 4096n, // the issue's file: data in its last page
  odd: P53 + 1n, // not a double
  odd3: P53 + 3n,
  below: P53 - 1n, // the largest exact double integer: a control
  huge: 2n ** 62n + 1n,
  max: 2n ** 63n - 1n, // MAX_LFS_FILESIZE
};

async function makeSource(t: Test): Promise<string | null> {
  const base = scratch(t, 'v64');
  const src = join(base, 'src');
  // nr_inodes 2^53 + 1: statfs f_files is not a double.
  const m = await mountFs(t, ['-t', 'tmpfs', '-o', `mode=755,nr_inodes=${P53 + 1n}`, 'v64'], src);
  t.equal(m.code, 0, 'a tmpfs source with 2^53 + 1 inodes', { stderr: m.stderr.toString() });
  if (m.code !== 0) return null;
  const script = `import os, sys
root = sys.argv[1]
sizes = {${Object.entries(SIZES)
    .map(([k, v]) => `'${k}': ${v}`)
    .join(', ')}}
for name, size in sizes.items():
    fd = os.open(os.path.join(root, name), os.O_WRONLY | os.O_CREAT, 0o644)
    os.ftruncate(fd, size)
    os.close(fd)
# data in the last page of big (2^53 .. 2^53 + 4095): a pattern that shows any shift
fd = os.open(os.path.join(root, 'big'), os.O_WRONLY)
os.pwrite(fd, bytes((i * 7 + 3) % 251 for i in range(4096)), 2**53)
os.close(fd)
# odd3: the 3 bytes past 2^53
fd = os.open(os.path.join(root, 'odd3'), os.O_WRONLY)
os.pwrite(fd, b'xyz', 2**53)
os.close(fd)
# huge: a page of data at 2^62 (and a hole before it)
fd = os.open(os.path.join(root, 'huge'), os.O_WRONLY)
os.pwrite(fd, b'H' * 4096 + b'!', 2**62 - 4096)
os.close(fd)
print('ok')`;
  const r = await sh(`exec ${PY} -c "$1" "$2"`, [script, src]);
  t.equal(r.stdout.toString(), 'ok\n', 'sparse files of 64-bit sizes made', { stderr: r.stderr.toString() });
  mkdirSync(join(src, 'ids'));
  for (const [name, uid, gid] of [
    ['u4e9', 4_000_000_000, 4_000_000_001],
    ['u2e31', 2 ** 31, 2 ** 31 + 1],
    ['umax', 2 ** 32 - 2, 2 ** 32 - 2],
  ] as const) {
    writeFileSync(join(src, 'ids', name), `${name}\n`);
    chownSync(join(src, 'ids', name), uid, gid);
  }
  const times = await sh(
    [
      'set -e',
      'cd "$1" && mkdir times && cd times',
      "echo a > old && touch -h -d '1900-01-01 00:00:00.5' old",
      'echo b > epoch-1 && touch -h -d @-1 epoch-1',
      'echo c > y2038 && touch -h -d @2147483653.999999999 y2038',
      'echo d > far && touch -h -d @1099511627776.123456789 far',
      'echo e > y9999 && touch -h -d "9999-12-31 23:59:59.999999999" y9999',
      'echo ok',
    ].join('\n'),
    [src],
  );
  t.equal(times.stdout.toString(), 'ok\n', 'far and negative timestamps set', { stderr: times.stderr.toString() });
  return src;
}

// Offsets and lseek answers, printed by python: (what, result or errno name).
const PREADS = String.raw`import os, sys, hashlib
root = sys.argv[1]
P = 2**53
def pr(name, size, off):
    fd = os.open(os.path.join(root, name), os.O_RDONLY)
    try:
        b = os.pread(fd, size, off)
        print(name, size, off, len(b), hashlib.md5(b).hexdigest(), b[:8].hex())
    except OSError as e:
        print(name, size, off, 'ERROR', e.strerror)
    finally:
        os.close(fd)
for off in [P, P + 1, P + 2, P + 7, P + 2048, P + 4095, P + 4096, P + 4097, P - 1, P - 4096]:
    pr('big', 4096, off)
    pr('big', 16, off)
for off in [P - 1, P, P + 1, P + 2, P + 3]:
    pr('odd3', 8, off)
    pr('odd', 8, off)
for off in [2**62 - 4097, 2**62 - 4096, 2**62 - 1, 2**62, 2**62 + 1]:
    pr('huge', 16, off)
for off in [2**63 - 2, 2**63 - 1]:
    pr('max', 4, off)
`;

const SEEKS = String.raw`import os, sys
root = sys.argv[1]
P = 2**53
for name, offs in [('big', [0, 1, P - 1, P, P + 1, P + 4095, P + 4096, P + 4097]),
                   ('odd3', [0, P - 1, P, P + 1, P + 2, P + 3]),
                   ('huge', [0, 2**62 - 4096, 2**62 - 4095, 2**62, 2**62 + 1, 2**62 + 2]),
                   ('max', [0, 2**62, 2**63 - 2])]:
    fd = os.open(os.path.join(root, name), os.O_RDONLY)
    for whence, wn in [(os.SEEK_DATA, 'DATA'), (os.SEEK_HOLE, 'HOLE'), (os.SEEK_SET, 'SET'), (os.SEEK_END, 'END')]:
        for off in (offs if whence != os.SEEK_END else [0, -1, -4096]):
            try:
                print(name, wn, off, os.lseek(fd, off, whence))
            except OSError as e:
                print(name, wn, off, 'ERROR', e.strerror)
    os.close(fd)
`;

async function checks(t: Test, src: string, mnt: string): Promise<void> {
  const files = Object.keys(SIZES).map((n) => `"$P/${n}"`).join(' ');
  await sameOnBoth(t, 'stat: size, blocks, ids, mode of the sparse files', `stat -c '%n %s %b %B %h %u %g %a %F' ${files}`, src, mnt);
  await sameOnBoth(t, 'stat of the files with 32-bit ids', `stat -c '%n %u %g %U' "$P"/ids/*`, src, mnt);
  await sameOnBoth(t, 'stat: far and negative mtimes, to the nanosecond', `stat -c '%n %Y %y' "$P"/times/*`, src, mnt);
  await sameOnBoth(t, 'ls -l --time-style=full-iso of the times', 'ls -l --time-style=full-iso "$P/times"', src, mnt);
  await sameOnBoth(t, 'pread at offsets around 2^53, 2^62, 2^63', `${PY} -c "$PROG" "$P"`, src, mnt, { env: { PROG: PREADS } });
  await sameOnBoth(t, 'lseek SEEK_DATA / SEEK_HOLE / SEEK_END', `${PY} -c "$PROG" "$P"`, src, mnt, { env: { PROG: SEEKS } });
  await sameOnBoth(t, 'dd skip to 2^53 (the last page of big)', `dd if="$P/big" bs=4096 skip=${P53 / 4096n} count=1 status=none | md5sum`, src, mnt);
  await sameOnBoth(t, 'dd of 1 byte at 2^53 + 1', `dd if="$P/big" bs=1 skip=${P53 + 1n} count=1 status=none | od -An -tx1`, src, mnt);
  await sameOnBoth(t, 'tail -c 100 of big', 'tail -c 100 "$P/big" | md5sum', src, mnt);
  await sameOnBoth(t, 'tail -c 3 of odd3 (bytes past 2^53)', 'tail -c 3 "$P/odd3"', src, mnt);
  await sameOnBoth(t, 'tail -c 1 of odd (size 2^53 + 1)', 'tail -c 1 "$P/odd" | od -An -tx1', src, mnt);
  await sameOnBoth(t, 'statfs (stat -f): blocks, files (2^53 + 1), free', `stat -f -c '%b %f %a %c %d %S %s %l' "$P"`, src, mnt);
}

t.test('needs python3, dd, stat, tail', async (t) => {
  await needTools(t, [PY, 'dd', 'stat', 'tail', 'md5sum', 'od', 'touch']);
});

for (const args of [[], ['--direct-io']]) {
  t.test(`64-bit sizes, offsets, seeks, ids, times, statfs${args.length ? ' with ' + args.join(' ') : ''}`, async (t) => {
    const src = await makeSource(t);
    if (!src) return;
    const mnt = scratch(t, 'mnt');
    await startMounted(t, src, mnt, { args });
    await checks(t, src, mnt);
  });
}

leftoverCheck(t);
