import t from 'tap';
import { Reply, Request, decodeInit, encodeInit, writeU64 } from '../src/kernel/codec.js';
import { Opcode } from '../src/kernel/abi.js';

t.test('INIT request decodes, reply encodes to known bytes', async (t) => {
  const r = new Request(4096);
  const b = r.buf;
  b.fill(0, 0, 104);
  b.writeUInt32LE(104, 0);
  b.writeUInt32LE(Opcode.INIT, 4);
  writeU64(b, 8, 2);
  b.writeUInt32LE(7, 40);
  b.writeUInt32LE(44, 44);
  b.writeUInt32LE(131072, 48);
  b.writeUInt32LE((1 << 30) | 1, 52);
  b.writeUInt32LE(1 << 4, 56);
  r.load(104);
  const inn = decodeInit(r);
  t.same(inn, { major: 7, minor: 44, maxReadahead: 131072, flags: 2 ** 36 + 2 ** 30 + 1 });
  const rep = new Reply(4096);
  const len = encodeInit(rep, { minor: 40, maxReadahead: 131072, flags: 2 ** 36 + 2 ** 30, maxBackground: 0, congestionThreshold: 0, maxWrite: 1044480, timeGran: 1, maxPages: 255 });
  rep.finish(2, len);
  t.equal(len, 80);
  t.equal(rep.buf.subarray(0, 80).toString('hex'),
    '50000000000000000200000000000000' +
    // major 7, minor 40, max_readahead 128 KiB, flags INIT_EXT, max_background 0, congestion 0,
    // max_write 0x0ff000, time_gran 1, max_pages 255, map_alignment 0, flags2 bit 4, rest 0
    '07000000' + '28000000' + '00000200' + '00000040' + '0000' + '0000' + '00f00f00' + '01000000' + 'ff00' + '0000' + '10000000' + '00'.repeat(28));
});
