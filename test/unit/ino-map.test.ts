// The mount's inode numbers (src/passthrough/ino-map.ts) without a mount: distinct for every
// (st_dev, st_ino), the source root's numbers kept, stable across calls, exact past 2^53.
import t from 'tap';
import { encodeDev, InoMap } from '../../src/passthrough/ino-map.js';

const ROOT = 2049n;

t.test('the source root filesystem keeps its own numbers below 2^56', async (t) => {
  const m = new InoMap(ROOT);
  t.equal(m.map(ROOT, 2n), 2n);
  t.equal(m.map(ROOT, 123456789n), 123456789n);
  t.equal(m.map(ROOT, (1n << 56n) - 1n), (1n << 56n) - 1n, 'the largest kept number');
});

t.test('equal st_ino on two other filesystems: distinct, stable, and apart from the root range', async (t) => {
  const m = new InoMap(ROOT);
  const a = m.map(27n, 5n);
  const b = m.map(28n, 5n);
  const r = m.map(ROOT, 5n);
  t.not(a, b, 'two devices, one st_ino: two numbers');
  t.not(a, r);
  t.not(b, r);
  t.equal(a, (1n << 56n) | 5n, 'first other filesystem: index 1 in the top byte');
  t.equal(b, (2n << 56n) | 5n, 'second: index 2');
  t.equal(m.map(27n, 5n), a, 'the same (dev, ino) again: the same number');
  t.equal(m.devices, 3);
});

t.test('st_ino at and above 2^56 (overlayfs xino): counted numbers, exact, remembered', async (t) => {
  const m = new InoMap(ROOT);
  const big1 = (1n << 63n) + 1n;
  const big2 = (1n << 63n) + 2n;
  const x = m.map(ROOT, big1);
  const y = m.map(ROOT, big2);
  t.not(x, y, 'two files that differ only past 2^53 stay two files');
  t.equal(x >> 56n, 0xffn, 'counted numbers have the top byte 0xff');
  t.equal(m.map(ROOT, big1), x, 'stable');
  t.equal(m.remembered, 2);
  t.equal(m.map(27n, 1n << 56n) >> 56n, 0xffn, 'another filesystem past 2^56: counted too');
  // Nothing counted equals a kept or packed number.
  const kept = new Set([m.map(ROOT, 1n), m.map(27n, 1n), m.map(28n, 1n)]);
  t.notOk(kept.has(x) || kept.has(y));
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
