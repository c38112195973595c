// INIT negotiation (src/server/init.ts negotiate): a capability is on when the kernel offers it
// AND the server wants it AND the user has not switched it off; max_pages falls back to the
// kernel's default of 32 without FUSE_MAX_PAGES; the minor is the lower of the kernel's and ours;
// another major is refused. Flag values are written as bit numbers here (linux/fuse.h), not
// taken from abi.ts.
import t from 'tap';
import { negotiate, type InitWants } from '../../src/server/init.js';
import type { InitIn } from '../../src/kernel/request.js';

const bit = (n: number) => 1n << BigInt(n);
const ASYNC_READ = bit(0);
const SPLICE_READ = bit(9);
const MAX_PAGES = bit(22);
const INIT_EXT = bit(30);
const PASSTHROUGH = bit(37);

function kernel(flags: bigint, minor = 45, major = 7): InitIn {
  return { major, minor, maxReadahead: 0x20000, flags };
}
function wants(flags: bigint, off = 0n, maxPages = 255): InitWants {
  return { flags, off, maxPages, maxBackground: 64, congestionThreshold: 48 };
}
function ok(r: ReturnType<typeof negotiate>) {
  if ('error' in r) throw new Error(r.error);
  return r;
}

t.test('a flag is on iff the kernel offers it, the server wants it and it is not switched off', async (t) => {
  // Every combination, on bits in both words: 0, 9, 31 (flags) and 32, 37, 41, 63 (flags2).
  for (const b of [0, 9, 31, 32, 37, 41, 63]) {
    for (let m = 0; m < 8; m++) {
      const offered = (m & 1) !== 0;
      const wanted = (m & 2) !== 0;
      const off = (m & 4) !== 0;
      const r = ok(negotiate(kernel(INIT_EXT | (offered ? bit(b) : 0n)), wants(INIT_EXT | (wanted ? bit(b) : 0n), off ? bit(b) : 0n)));
      const on = (r.out.flags & bit(b)) !== 0n;
      t.equal(on, offered && wanted && !off, `bit ${b}: offered ${offered}, wanted ${wanted}, off ${off} -> ${offered && wanted && !off ? 'on' : 'off'}`);
      t.equal(r.negotiated.flags, r.out.flags, `bit ${b}: what is sent is what is reported`);
    }
  }
});

t.test('flags above bit 32 travel exactly', async (t) => {
  const offered = ASYNC_READ | SPLICE_READ | MAX_PAGES | INIT_EXT | PASSTHROUGH | bit(41) | bit(63);
  const wanted = ASYNC_READ | MAX_PAGES | INIT_EXT | PASSTHROUGH | bit(63) | bit(36);
  const r = ok(negotiate(kernel(offered), wants(wanted, ASYNC_READ)));
  t.equal(r.out.flags, 0x8000002040400000n, 'MAX_PAGES | INIT_EXT | PASSTHROUGH | bit 63 (ASYNC_READ off, bit 36 not offered, 9 and 41 not wanted)');
  t.same(r.negotiated.flagNames, ['MAX_PAGES', 'INIT_EXT', 'PASSTHROUGH'], 'flag names in bit order (bit 63 has none)');
  t.equal(typeof r.out.flags, 'bigint', 'a bigint');
});

t.test('max_pages', async (t) => {
  let r = ok(negotiate(kernel(MAX_PAGES | INIT_EXT), wants(MAX_PAGES | INIT_EXT, 0n, 255)));
  t.equal(r.out.maxPages, 255, 'with FUSE_MAX_PAGES: the pages wanted');
  t.equal(r.out.maxWrite, 255 * 4096, 'max_write = max_pages pages');
  t.equal(r.negotiated.maxRead, 255 * 4096, 'max_read = max_pages pages');
  t.equal(r.negotiated.maxWrite, 255 * 4096, 'reported max_write');

  r = ok(negotiate(kernel(INIT_EXT), wants(MAX_PAGES | INIT_EXT, 0n, 255)));
  t.equal(r.out.maxPages, 32, 'not offered: the kernel sends at most 32 pages (FUSE_DEFAULT_MAX_PAGES_PER_REQ)');
  t.equal(r.out.maxWrite, 32 * 4096, 'max_write 128 KiB');
  t.equal(r.negotiated.maxRead, 32 * 4096, 'max_read 128 KiB');

  r = ok(negotiate(kernel(MAX_PAGES), wants(MAX_PAGES, MAX_PAGES, 255)));
  t.equal(r.out.maxPages, 32, 'switched off: 32');
  r = ok(negotiate(kernel(MAX_PAGES), wants(0n, 0n, 255)));
  t.equal(r.out.maxPages, 32, 'not wanted: 32');
  r = ok(negotiate(kernel(0n), wants(MAX_PAGES, 0n, 16)));
  t.equal(r.out.maxPages, 16, 'fewer than 32 wanted: those, even without FUSE_MAX_PAGES');
  t.equal(r.out.maxWrite, 16 * 4096, 'max_write follows');
  r = ok(negotiate(kernel(MAX_PAGES), wants(MAX_PAGES, 0n, 1024)));
  t.equal(r.out.maxPages, 1024, 'a raised max_pages_limit: 1024 pages (4 MiB)');
});

t.test('minor and major', async (t) => {
  let r = ok(negotiate(kernel(0n, 45), wants(0n)));
  t.equal(r.out.minor, 40, 'a 7.45 kernel: capped at our 7.40');
  t.equal(r.negotiated.protocol, '7.40', 'protocol 7.40');
  t.equal(r.negotiated.minor, 40, 'negotiated minor');
  r = ok(negotiate(kernel(0n, 40), wants(0n)));
  t.equal(r.out.minor, 40, 'a 7.40 kernel: 7.40');
  r = ok(negotiate(kernel(0n, 38), wants(0n)));
  t.equal(r.out.minor, 38, 'a 7.38 kernel: 7.38');
  t.equal(r.negotiated.protocol, '7.38', 'protocol 7.38');
  r = ok(negotiate(kernel(0n, 26), wants(0n)));
  t.equal(r.out.minor, 26, 'an old kernel: its minor');
  for (const major of [6, 8, 0]) {
    const e = negotiate(kernel(0n, 45, major), wants(0n));
    t.ok('error' in e, `major ${major}: refused`);
    if ('error' in e) t.match(e.error, String(major), 'the error names the major');
  }
});

t.test('the rest of the reply', async (t) => {
  const r = ok(negotiate({ major: 7, minor: 45, maxReadahead: 0x12345, flags: MAX_PAGES }, { flags: MAX_PAGES, off: 0n, maxPages: 128, maxBackground: 100, congestionThreshold: 75 }));
  t.strictSame(
    r.out,
    { minor: 40, maxReadahead: 0x12345, flags: MAX_PAGES, maxBackground: 100, congestionThreshold: 75, maxWrite: 128 * 4096, timeGran: 1, maxPages: 128, maxStackDepth: 0 },
    'max_readahead echoed, background limits from the server, time_gran 1 ns, max_stack_depth 0 without PASSTHROUGH',
  );
  // max_stack_depth must be >= 1 for the kernel to turn FUSE_PASSTHROUGH on: 1 (backing files on
  // plain filesystems only) when it is on, 0 when offered but not wanted.
  const pt = INIT_EXT | PASSTHROUGH;
  t.equal(ok(negotiate(kernel(pt), wants(pt))).out.maxStackDepth, 1, 'PASSTHROUGH on: max_stack_depth 1');
  t.equal(ok(negotiate(kernel(pt), wants(INIT_EXT))).out.maxStackDepth, 0, 'PASSTHROUGH offered, not wanted: max_stack_depth 0');
  t.equal(r.negotiated.maxReadahead, 0x12345, 'reported max_readahead');
  t.same(r.negotiated.flagNames, ['MAX_PAGES'], 'reported flag names');
});

// What the server asks for (src/api/setup.ts wantedFlags): DONT_MASK always (the source applies
// the caller's umask, passthrough/creds.ts); WRITEBACK_CACHE only with -o writeback_cache, and
// PASSTHROUGH only without it (the kernel does not combine them); never ATOMIC_O_TRUNC,
// POSIX_LOCKS, FLOCK_LOCKS (linux/fuse.h bits 3, 1, 10; DONT_MASK 6, WRITEBACK_CACHE 16, PASSTHROUGH 37).
t.test('wantedFlags: DONT_MASK always, WRITEBACK_CACHE only when asked', async (t) => {
  const { wantedFlags } = await import('../../src/api/setup.js');
  const DONT_MASK = bit(6);
  const WRITEBACK_CACHE = bit(16);
  const plain = wantedFlags();
  t.equal(plain & DONT_MASK, DONT_MASK, 'default: DONT_MASK');
  t.equal(plain & WRITEBACK_CACHE, 0n, 'default: no WRITEBACK_CACHE');
  const HANDLE_KILLPRIV_V2 = bit(28);
  t.equal(plain & HANDLE_KILLPRIV_V2, HANDLE_KILLPRIV_V2, 'default: HANDLE_KILLPRIV_V2 (the kernel flags the kills it leaves to us)');
  t.equal(plain & bit(19), 0n, 'not HANDLE_KILLPRIV (v1: the server would have to kill on every write, whoever the writer)');
  t.equal(wantedFlags({ writebackCache: false }), plain, 'writebackCache false: the default');
  const wb = wantedFlags({ writebackCache: true });
  t.equal(plain & PASSTHROUGH, PASSTHROUGH, 'default: PASSTHROUGH (kernel passthrough, read modes auto and passthrough)');
  t.equal(wb, (plain & ~PASSTHROUGH) | WRITEBACK_CACHE, 'writebackCache: the default plus WRITEBACK_CACHE, less PASSTHROUGH, nothing else');
  for (const [name, b] of [['POSIX_LOCKS', bit(1)], ['ATOMIC_O_TRUNC', bit(3)], ['FLOCK_LOCKS', bit(10)]] as const)
    t.equal(wb & b, 0n, `${name} is not wanted`);
  // The kernel's offer decides: DONT_MASK is on only when offered.
  t.equal(ok(negotiate(kernel(DONT_MASK | INIT_EXT), wants(plain))).out.flags & DONT_MASK, DONT_MASK, 'offered: DONT_MASK on');
  t.equal(ok(negotiate(kernel(INIT_EXT), wants(wb))).out.flags & (DONT_MASK | WRITEBACK_CACHE), 0n, 'not offered: off');
});
