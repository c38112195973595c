// The ABI layout check: src/kernel/abi.ts against the installed <linux/fuse.h>, by the compiler.
// A C program generated from STRUCTS prints sizeof of every struct and offsetof (and sizeof and
// signedness) of every field; it also prints every opcode and INIT flag the header defines.
// Everything the installed header (7.38) does not know is checked by hand below against
// ../shared/DESIGN.md ("Kernel facts that matter") and, where DESIGN.md is silent, libfuse's
// include/fuse_kernel.h (7.45) in ../shared/peers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import * as K from '../../src/kernel/abi.js';
import { FUSE_OUR_MINOR, InitFlag, Opcode, STRUCTS, type FieldType } from '../../src/kernel/abi.js';
import * as L from '../../src/kernel/linux.js';
import { FATTR, FUSE_WRITE_CACHE, FUSE_WRITE_KILL_SUIDGID, FUSE_WRITE_LOCKOWNER } from '../../src/kernel/request.js';

const HEADER = '/usr/include/linux/fuse.h';
/** The protocol minor of the installed header: fields with `since` above it are checked by hand. */
const HEADER_MINOR = 38;
const WIDTH: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };
const SIGNED: Record<FieldType, boolean> = { u8: false, u16: false, u32: false, i32: true, u64: false, i64: true };

// ---- facts newer than the installed header, by hand -----------------------------------------

/** Fields from 7.40: DESIGN.md "fuse_init_out gained uint32_t max_stack_depth after flags2"
 *  (flags2 is at 32, so 36); "fuse_open_out is {u64 fh; u32 open_flags; i32 backing_id}" (12). */
const NEW_FIELDS: Record<string, { offset: number; type: FieldType }> = {
  'fuse_init_out.max_stack_depth': { offset: 36, type: 'u32' },
  'fuse_open_out.backing_id': { offset: 12, type: 'i32' },
};
/** INIT flags past the installed header: DESIGN.md (bits 34, 36, 37, 38, 41) and libfuse's
 *  fuse_kernel.h 7.40 for HAS_RESEND (bit 39, not in DESIGN.md). */
const NEW_FLAGS: Record<string, bigint> = {
  CREATE_SUPP_GROUP: 1n << 34n,
  DIRECT_IO_ALLOW_MMAP: 1n << 36n,
  PASSTHROUGH: 1n << 37n,
  NO_EXPORT_SUPPORT: 1n << 38n,
  HAS_RESEND: 1n << 39n,
  OVER_IO_URING: 1n << 41n,
};
/**
 * Whole structs newer than the installed header (7.39, FUSE_STATX): libfuse's
 * include/fuse_kernel.h, size and every field as [offset, type, count], worked out by hand from
 * its declarations (fuse_statx is statx(2)'s struct statx: 256 bytes).
 */
const NEW_STRUCTS: Record<string, { size: number; fields: Record<string, [number, FieldType, number]> }> = {
  fuse_sx_time: { size: 16, fields: { tv_sec: [0, 'i64', 1], tv_nsec: [8, 'u32', 1], __reserved: [12, 'i32', 1] } },
  fuse_statx: {
    size: 256,
    fields: {
      mask: [0, 'u32', 1], blksize: [4, 'u32', 1], attributes: [8, 'u64', 1], nlink: [16, 'u32', 1],
      uid: [20, 'u32', 1], gid: [24, 'u32', 1], mode: [28, 'u16', 1], __spare0: [30, 'u16', 1],
      ino: [32, 'u64', 1], size: [40, 'u64', 1], blocks: [48, 'u64', 1], attributes_mask: [56, 'u64', 1],
      // four struct fuse_sx_time (16 bytes, 8-aligned), carried as two u64 each
      atime: [64, 'u64', 2], btime: [80, 'u64', 2], ctime: [96, 'u64', 2], mtime: [112, 'u64', 2],
      rdev_major: [128, 'u32', 1], rdev_minor: [132, 'u32', 1], dev_major: [136, 'u32', 1], dev_minor: [140, 'u32', 1],
      __spare2: [144, 'u64', 14],
    },
  },
  fuse_statx_in: {
    size: 24,
    fields: { getattr_flags: [0, 'u32', 1], reserved: [4, 'u32', 1], fh: [8, 'u64', 1], sx_flags: [16, 'u32', 1], sx_mask: [20, 'u32', 1] },
  },
  fuse_statx_out: {
    size: 288,
    // stat: struct fuse_statx (256 bytes), carried as 32 u64
    fields: { attr_valid: [0, 'u64', 1], attr_valid_nsec: [8, 'u32', 1], flags: [12, 'u32', 1], spare: [16, 'u64', 2], stat: [32, 'u64', 32] },
  },
};
/** A struct the installed header does not have: every field is newer than it. */
const isNewStruct = (s: (typeof STRUCTS)[number]) => s.fields.every((f) => f.since !== undefined && f.since > HEADER_MINOR);

/** Opcodes past the installed header: DESIGN.md "STATX = 52"; libfuse's fuse_kernel.h 7.45
 *  "FUSE_COPY_FILE_RANGE_64 = 53" (6.18 sends it whatever minor INIT agreed). */
const NEW_OPCODES: Record<string, number> = { STATX: 52, COPY_FILE_RANGE_64: 53 };

// ---- the C program ---------------------------------------------------------------------------

const prints: string[] = [];
/** printf of an integer expression under `key`. */
function num(key: string, expr: string): void {
  prints.push(`  printf("%s %lld\\n", "${key}", (long long)(${expr}));`);
}
/** printf of a macro's value, or "absent" when the header does not define it. */
function macro(key: string, name: string): void {
  prints.push(`#ifdef ${name}`);
  prints.push(`  printf("%s %lld\\n", "${key}", (long long)(${name}));`);
  prints.push('#else');
  prints.push(`  printf("%s absent\\n", "${key}");`);
  prints.push('#endif');
}

interface HandField {
  key: string;
  offset: number;
  type: FieldType;
  count: number;
  c?: string;
}
const byHand: HandField[] = [];
for (const s of STRUCTS) {
  if (isNewStruct(s)) continue; // the compiler cannot see it: checked by hand (NEW_STRUCTS)
  num(`sizeof ${s.name}`, `sizeof(struct ${s.name})`);
  for (const f of s.fields) {
    const key = `${s.name}.${f.name}`;
    const offset = (s.off as Record<string, number>)[f.name];
    if (f.since !== undefined && f.since > HEADER_MINOR) {
      byHand.push({ key, offset, type: f.type, count: f.count ?? 1, c: f.c });
      // The header's field it took the place of (a padding or unused word), if it names one.
      if (f.c !== undefined) num(`replaced ${key}`, `offsetof(struct ${s.name}, ${f.c})`);
      continue;
    }
    const member = `((struct ${s.name} *)0)->${f.c ?? f.name}`;
    num(`offsetof ${key}`, `offsetof(struct ${s.name}, ${f.c ?? f.name})`);
    // A renamed field (`c`) stands for part of the header's field: only its offset compares.
    if (f.c === undefined) {
      num(`sizeof ${key}`, `sizeof(${member})`);
      if ((f.count ?? 1) === 1) num(`signed ${key}`, `(__typeof__(${member}))-1 < 0`);
    }
  }
}

// Opcodes: enumerators, so which exist is read from the header's text; values come from cc.
const headerText = readFileSync(HEADER, 'utf8');
const opcodeEnum = /enum fuse_opcode \{([^}]*)\}/.exec(headerText)?.[1] ?? '';
const headerOpcodes = [...opcodeEnum.matchAll(/^\s*FUSE_([A-Z0-9_]+)\s*=/gm)]
  .map((m) => m[1])
  .filter((n) => !n.endsWith('_BSWAP_RESERVED'));
for (const name of headerOpcodes) num(`opcode ${name}`, `FUSE_${name}`);

// INIT flags: macros; the header's own list (between FUSE_ASYNC_READ and CUSE's flags) too.
const flagBlock = headerText.slice(headerText.indexOf('#define FUSE_ASYNC_READ'), headerText.indexOf('CUSE_UNRESTRICTED_IOCTL'));
const headerFlags = [...flagBlock.matchAll(/^#define FUSE_([A-Z0-9_]+)\s+\(1(?:ULL)? << (\d+)\)/gm)].map((m) => m[1]);
for (const name of Object.keys(InitFlag)) macro(`flag ${name}`, `FUSE_${name}`);
for (const name of headerFlags) macro(`hflag ${name}`, `FUSE_${name}`);

const CONSTS = {
  FUSE_KERNEL_VERSION: K.FUSE_KERNEL_VERSION,
  FUSE_ROOT_ID: K.FUSE_ROOT_ID,
  FOPEN_DIRECT_IO: K.FOPEN_DIRECT_IO,
  FOPEN_KEEP_CACHE: K.FOPEN_KEEP_CACHE,
  FOPEN_NONSEEKABLE: K.FOPEN_NONSEEKABLE,
  FOPEN_CACHE_DIR: K.FOPEN_CACHE_DIR,
  FUSE_GETATTR_FH: K.FUSE_GETATTR_FH,
  FUSE_READ_LOCKOWNER: K.FUSE_READ_LOCKOWNER,
} as const;
for (const name of Object.keys(CONSTS)) macro(`const ${name}`, name);
macro('const FOPEN_PASSTHROUGH', 'FOPEN_PASSTHROUGH');
// The read-write operations: fuse_setattr_in.valid bits, fuse_write_in.write_flags bits, and the
// SETXATTR body the kernel sends when FUSE_SETXATTR_EXT is not negotiated.
for (const name of Object.keys(FATTR)) macro(`fattr ${name}`, `FATTR_${name}`);
const WRITE_FLAGS = { FUSE_WRITE_CACHE, FUSE_WRITE_LOCKOWNER, FUSE_WRITE_KILL_SUIDGID } as const;
for (const name of Object.keys(WRITE_FLAGS)) macro(`const ${name}`, name);
macro('const FUSE_COMPAT_SETXATTR_IN_SIZE', 'FUSE_COMPAT_SETXATTR_IN_SIZE');
/** The syscall constants the read-write handlers pass (src/kernel/linux.ts), from the C library. */
const LINUX = {
  O_WRONLY: L.O_WRONLY, O_RDWR: L.O_RDWR, O_CREAT: L.O_CREAT, O_EXCL: L.O_EXCL, O_NOCTTY: L.O_NOCTTY,
  O_TRUNC: L.O_TRUNC, O_APPEND: L.O_APPEND, O_DIRECT: L.O_DIRECT, O_TMPFILE: L.O_TMPFILE, O_DIRECTORY: L.O_DIRECTORY,
  AT_REMOVEDIR: L.AT_REMOVEDIR, RENAME_NOREPLACE: L.RENAME_NOREPLACE, RENAME_EXCHANGE: L.RENAME_EXCHANGE,
  RENAME_WHITEOUT: L.RENAME_WHITEOUT, UTIME_NOW: Number(L.UTIME_NOW), UTIME_OMIT: Number(L.UTIME_OMIT),
} as const;
for (const name of Object.keys(LINUX)) macro(`linux ${name}`, name);
macro('const FUSE_KERNEL_MINOR_VERSION', 'FUSE_KERNEL_MINOR_VERSION');
// FUSE_COMPAT_INIT_IN_SIZE is not in every header: where it is not, it is where flags2 starts.
prints.push('#ifdef FUSE_COMPAT_INIT_IN_SIZE');
num('compat_init_in', 'FUSE_COMPAT_INIT_IN_SIZE');
prints.push('#else');
num('compat_init_in', 'offsetof(struct fuse_init_in, flags2)');
prints.push('#endif');
num('name_offset', 'FUSE_NAME_OFFSET');
num('name_offset_plus', 'FUSE_NAME_OFFSET_DIRENTPLUS');
num('page_size', 'sysconf(_SC_PAGESIZE)');

const program = [
  '#define _GNU_SOURCE', // O_DIRECT, O_TMPFILE, RENAME_* (glibc <stdio.h>)
  '#include <fcntl.h>',
  '#include <sys/stat.h>',
  '#include <stdio.h>',
  '#include <stddef.h>',
  '#include <unistd.h>',
  '#include <linux/fuse.h>',
  'int main(void) {',
  ...prints,
  '  return 0;',
  '}',
  '',
].join('\n');

const dir = mkdtempSync(join(tmpdir(), 'splicefs-abi-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'abi.c'), program);
execFileSync('cc', ['-std=gnu11', '-Wall', '-Werror', '-o', join(dir, 'abi'), join(dir, 'abi.c')], { stdio: ['ignore', 'pipe', 'pipe'] });
const facts = new Map<string, string>();
for (const line of execFileSync(join(dir, 'abi'), { encoding: 'utf8' }).trim().split('\n')) {
  const at = line.lastIndexOf(' ');
  facts.set(line.slice(0, at), line.slice(at + 1));
}
/** A number the compiler printed (the test fails on a key it did not print). */
function c(key: string): number {
  const v = facts.get(key);
  if (v === undefined || v === 'absent') throw new Error(`the C program printed no ${key}`);
  return Number(v);
}

// ---- checks ----------------------------------------------------------------------------------

t.test('struct sizes and field offsets match the compiler', async (t) => {
  t.ok(STRUCTS.length >= 25, `${STRUCTS.length} structs`);
  for (const s of STRUCTS) {
    if (isNewStruct(s)) continue;
    t.equal(s.size, c(`sizeof ${s.name}`), `sizeof(struct ${s.name}) = ${s.size}`);
    for (const f of s.fields) {
      const key = `${s.name}.${f.name}`;
      const off = (s.off as Record<string, number>)[f.name];
      if (f.since !== undefined && f.since > HEADER_MINOR) continue;
      t.equal(off, c(`offsetof ${key}`), `offsetof(${s.name}, ${f.c ?? f.name}) = ${off}${f.c ? ` (our ${f.name})` : ''}`);
      if (f.c !== undefined) continue;
      const width = WIDTH[f.type] * (f.count ?? 1);
      t.equal(width, c(`sizeof ${key}`), `${key}: ${width} bytes`);
      if ((f.count ?? 1) === 1) t.equal(SIGNED[f.type] ? 1 : 0, c(`signed ${key}`), `${key}: ${f.type} signedness`);
    }
  }
});

t.test('fields newer than the installed header, by hand (DESIGN.md)', async (t) => {
  t.same(byHand.map((f) => f.key).sort(), Object.keys(NEW_FIELDS).sort(), 'exactly the fields DESIGN.md describes are newer than 7.38');
  for (const f of byHand) {
    const want = NEW_FIELDS[f.key];
    if (!want) continue;
    t.equal(f.offset, want.offset, `${f.key} at ${want.offset}`);
    t.equal(f.type, want.type, `${f.key} is ${want.type}`);
    t.equal(f.count, 1, `${f.key} is a scalar`);
  }
  // Each took the place of a padding or unused word of the installed header: the same offset.
  t.equal(NEW_FIELDS['fuse_init_out.max_stack_depth'].offset, c('offsetof fuse_init_out.flags2') + 4, 'max_stack_depth follows flags2');
  for (const f of byHand) {
    t.ok(f.c !== undefined, `${f.key} names the header field it replaces`);
    if (f.c !== undefined) t.equal(f.offset, c(`replaced ${f.key}`), `${f.key} sits where the header's ${f.c} starts`);
  }
  for (const s of STRUCTS)
    for (const f of s.fields)
      if (f.since !== undefined) t.ok(f.since > HEADER_MINOR && f.since <= FUSE_OUR_MINOR, `${s.name}.${f.name}: since 7.${f.since} is within 7.39..7.${FUSE_OUR_MINOR}`);
});

t.test('structs newer than the installed header, by hand (libfuse fuse_kernel.h 7.39)', async (t) => {
  const fresh = STRUCTS.filter(isNewStruct);
  t.same(fresh.map((s) => s.name).sort(), Object.keys(NEW_STRUCTS).sort(), 'exactly the 7.39 STATX structs are newer than the header');
  for (const s of fresh) {
    t.notMatch(headerText, new RegExp(`struct ${s.name} \\{`), `${s.name}: indeed not in the installed header`);
    const want = NEW_STRUCTS[s.name];
    t.equal(s.size, want.size, `sizeof(struct ${s.name}) = ${want.size}`);
    t.same(s.fields.map((f) => f.name), Object.keys(want.fields), `${s.name}: the header's fields, in its order`);
    for (const f of s.fields) {
      const [offset, type, count] = want.fields[f.name] ?? [-1, 'u8', 0];
      t.same([(s.off as Record<string, number>)[f.name], f.type, f.count ?? 1], [offset, type, count], `${s.name}.${f.name}: offset ${offset}, ${count} x ${type}`);
    }
  }
});

t.test('opcodes', async (t) => {
  t.ok(headerOpcodes.length >= 45, `${headerOpcodes.length} opcodes in the header`);
  for (const name of headerOpcodes) {
    if (name.startsWith('CUSE') || name === 'CUSE_INIT') continue;
    t.ok(name in Opcode, `FUSE_${name} is in Opcode`);
    t.equal((Opcode as Record<string, number>)[name], c(`opcode ${name}`), `FUSE_${name} = ${c(`opcode ${name}`)}`);
  }
  for (const [name, value] of Object.entries(Opcode)) {
    if (headerOpcodes.includes(name)) continue;
    t.ok(name in NEW_OPCODES, `${name}: not in the installed header, so it must be a known newer opcode`);
    t.equal(value, NEW_OPCODES[name], `${name} = ${NEW_OPCODES[name]} (DESIGN.md)`);
  }
  const values = Object.values(Opcode);
  t.equal(new Set(values).size, values.length, 'no two opcodes share a number');
  t.equal(K.opcodeName(Opcode.READDIRPLUS), 'READDIRPLUS', 'opcodeName(44)');
  t.equal(K.opcodeName(99), 'OP_99', 'opcodeName of an unknown opcode');
});

t.test('INIT flags', async (t) => {
  t.ok(headerFlags.length >= 34, `${headerFlags.length} INIT flags in the header`);
  for (const name of headerFlags) t.ok(name in InitFlag, `FUSE_${name} (in the header) is in InitFlag`);
  for (const [name, bit] of Object.entries(InitFlag)) {
    const v = facts.get(`flag ${name}`);
    if (v !== undefined && v !== 'absent') {
      // (1 << 31) is a negative int in C: the bit is what counts, as a 32-bit flags word has it.
      const header = BigInt(v) < 0n ? BigInt.asUintN(32, BigInt(v)) : BigInt(v);
      t.equal(bit, header, `FUSE_${name} = 0x${bit.toString(16)} (header)`);
    } else {
      t.ok(name in NEW_FLAGS, `FUSE_${name}: not in the installed header, so it must be a known newer flag`);
      t.equal(bit, NEW_FLAGS[name], `FUSE_${name} = 1 << ${NEW_FLAGS[name]?.toString(2).length - 1} (DESIGN.md / libfuse)`);
    }
  }
  const bits = Object.values(InitFlag);
  t.equal(new Set(bits).size, bits.length, 'no two flags share a bit');
  for (const [name, bit] of Object.entries(InitFlag)) t.equal(bit & (bit - 1n), 0n, `${name} is a single bit`);
  t.same(K.initFlagNames((1n << 30n) | (1n << 37n) | 1n), ['ASYNC_READ', 'INIT_EXT', 'PASSTHROUGH'], 'initFlagNames in bit order');
  t.same(K.initFlagNames(1n << 40n), [], 'an unnamed bit has no name');
});

t.test('other constants', async (t) => {
  for (const [name, value] of Object.entries(CONSTS)) t.equal(value, c(`const ${name}`), `${name} = ${value}`);
  // FOPEN_PASSTHROUGH is 7.40 (DESIGN.md: 1 << 7).
  const fp = facts.get('const FOPEN_PASSTHROUGH');
  t.equal(K.FOPEN_PASSTHROUGH, fp === 'absent' ? 1 << 7 : Number(fp), 'FOPEN_PASSTHROUGH = 1 << 7');
  t.equal(c('const FUSE_KERNEL_MINOR_VERSION'), HEADER_MINOR, `the installed header is 7.${HEADER_MINOR} (what the by-hand checks assume)`);
  t.ok(FUSE_OUR_MINOR >= HEADER_MINOR, `FUSE_OUR_MINOR ${FUSE_OUR_MINOR} >= the header's`);
  t.equal(FUSE_OUR_MINOR, 40, 'FUSE_OUR_MINOR is 40 (max_stack_depth, backing_id, PASSTHROUGH are 7.40)');
  t.equal(K.FUSE_COMPAT_INIT_IN_SIZE, c('compat_init_in'), 'FUSE_COMPAT_INIT_IN_SIZE = 16 (major, minor, max_readahead, flags)');
  t.equal(K.fuse_dirent.size, c('name_offset'), 'fuse_dirent.size = FUSE_NAME_OFFSET');
  t.equal(K.fuse_entry_out.size + K.fuse_dirent.size, c('name_offset_plus'), 'entry_out + dirent = FUSE_NAME_OFFSET_DIRENTPLUS');
  t.equal(K.PAGE_SIZE, c('page_size'), 'PAGE_SIZE is the page size here');
});

t.test('the read-write structs are checked by the compiler, not by hand', async (t) => {
  // linux/fuse.h sizes: each is compiled above (none is newer than the installed header).
  const sizes: Record<string, number> = {
    fuse_setattr_in: 88, fuse_mknod_in: 16, fuse_mkdir_in: 8, fuse_rename_in: 8, fuse_rename2_in: 16,
    fuse_link_in: 8, fuse_create_in: 16, fuse_write_in: 40, fuse_write_out: 8, fuse_setxattr_in: 16,
    fuse_fallocate_in: 32, fuse_copy_file_range_in: 56,
  };
  for (const [name, size] of Object.entries(sizes)) {
    const s = STRUCTS.find((x) => x.name === name);
    t.ok(s, `${name} is in STRUCTS`);
    if (!s) continue;
    t.notOk(isNewStruct(s), `${name}: in the installed header, so compiled`);
    t.equal(c(`sizeof ${name}`), size, `the compiler's sizeof(struct ${name}) = ${size}`);
    t.equal(s.size, size, `abi.ts: ${name} is ${size} bytes`);
    for (const f of s.fields) t.ok(facts.has(`offsetof ${name}.${f.name}`), `${name}.${f.name}: offset printed by the compiler`);
  }
});

t.test('read-write constants: FATTR_*, FUSE_WRITE_*, FUSE_COMPAT_SETXATTR_IN_SIZE, the syscall flags', async (t) => {
  for (const [name, bit] of Object.entries(FATTR)) t.equal(bit, c(`fattr ${name}`), `FATTR_${name} = ${bit}`);
  const fattrInHeader = [...headerText.matchAll(/^#define FATTR_([A-Z_]+)\s/gm)].map((m) => m[1]);
  t.same(Object.keys(FATTR).sort(), fattrInHeader.sort(), 'every FATTR_* of the header, and no other');
  for (const [name, v] of Object.entries(WRITE_FLAGS)) t.equal(v, c(`const ${name}`), `${name} = ${v}`);
  t.equal(K.FUSE_COMPAT_SETXATTR_IN_SIZE, c('const FUSE_COMPAT_SETXATTR_IN_SIZE'), 'FUSE_COMPAT_SETXATTR_IN_SIZE = 8');
  t.equal(K.FUSE_COMPAT_SETXATTR_IN_SIZE, K.fuse_setxattr_in.off.setxattr_flags, 'the compat body ends where setxattr_flags starts');
  for (const [name, v] of Object.entries(LINUX)) t.equal(v, c(`linux ${name}`), `${name} = 0x${v.toString(16)} (C library)`);
});
