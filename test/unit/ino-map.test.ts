// The mount's inode numbers (src/passthrough/ino-map.ts) without a mount: distinct for every
// (st_dev, st_ino), the source root's numbers kept, stable across calls, exact past 2^53.
import t from 'tap';
import { encodeDev, InoMap } from '../../src/passthrough/ino-map.js';

const ROOT = 2049n;

t.test('the source root filesystem keeps its own numbers, past 2^56 too', async (t) => {
  const m = new InoMap(ROOT);
  t.equal(m.map(ROOT, 2n), 2n);
  t.equal(m.map(ROOT, 123456789n), 123456789n);
  t.equal(m.map(ROOT, (1n << 56n) - 1n), (1n << 56n) - 1n);
  const xino = (1n << 63n) + 5n; // overlayfs xino: layer bits at the top
  t.equal(m.map(ROOT, xino), xino, 'an overlayfs xino number is kept, exact');
  t.equal(m.map(ROOT, xino + 1n), xino + 1n, 'its neighbour stays apart (no rounding)');
});

t.test('equal st_ino on two other filesystems: distinct, stable, and apart from the root\'s', async (t) => {
  const m = new InoMap(ROOT);
  const a = m.map(27n, 5n);
  const b = m.map(28n, 5n);
  const r = m.map(ROOT, 5n);
  t.not(a, b, 'two devices, one st_ino: two numbers');
  t.not(a, r);
  t.not(b, r);
  t.equal(a, (1n << 56n) | 5n, 'first other filesystem: top byte 1');
  t.equal(b, (2n << 56n) | 5n, 'second: top byte 2');
  t.equal(m.map(27n, 5n), a, 'the same (dev, ino) again: the same number');
  t.equal(m.devices, 3);
});

t.test('top bytes the root filesystem uses are never given to another filesystem', async (t) => {
  const m = new InoMap(ROOT);
  const rootHigh = (1n << 56n) | 9n; // the root shows top byte 1 first
  t.equal(m.map(ROOT, rootHigh), rootHigh);
  const other = m.map(27n, 9n);
  t.equal(other, (2n << 56n) | 9n, 'the other filesystem gets top byte 2, not the root\'s 1');
  t.not(other, rootHigh);
});

t.test('a root number whose top byte another filesystem owns is counted, and remembered', async (t) => {
  const m = new InoMap(ROOT);
  const other = m.map(27n, 9n); // top byte 1 goes to device 27
  const rootLate = (1n << 56n) | 9n; // then the root shows top byte 1: it may not keep it
  const x = m.map(ROOT, rootLate);
  t.not(x, other, 'no clash with the other filesystem');
  t.equal(x >> 56n, 0xffn, 'counted (top byte 0xff)');
  t.equal(m.map(ROOT, rootLate), x, 'stable');
  t.equal(m.remembered, 1);
});

t.test('st_ino past 2^56 on another filesystem, and a root top byte 0xff: counted numbers', async (t) => {
  const m = new InoMap(ROOT);
  const a = m.map(27n, (1n << 63n) + 1n);
  const b = m.map(27n, (1n << 63n) + 2n);
  t.not(a, b, 'two files that differ only past 2^53 stay two files');
  t.equal(a >> 56n, 0xffn);
  const r = m.map(ROOT, (0xffn << 56n) | 1n);
  t.not(r, (0xffn << 56n) | 1n, 'a root number in the counted range is not kept');
  t.notOk([a, b].includes(r));
  t.equal(m.remembered, 3);
});

t.test('after 254 other filesystems, the next ones are counted', async (t) => {
  const m = new InoMap(ROOT);
  const seen = new Set<bigint>();
  for (let d = 0; d < 300; d++) seen.add(m.map(BigInt(10_000 + d), 7n));
  t.equal(seen.size, 300, '300 filesystems, one st_ino: 300 numbers');
  t.equal(m.remembered, 300 - 254);
});

t.test('encodeDev matches the kernel\'s new_encode_dev (what stat reports as st_dev)', async (t) => {
  t.equal(encodeDev(0, 27), 27n);
  t.equal(encodeDev(8, 1), 0x801n);
  t.equal(encodeDev(0, 0x12345), 0x12300045n, 'minor above 255: high minor bits shift by 12');
  t.equal(encodeDev(0x1234, 5), (0x234n << 8n) | 5n | (0x1000n << 32n), 'major above 4095: high major bits shift by 32');
});
