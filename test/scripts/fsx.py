# An fsx-style exerciser of one file: random reads, writes, truncates, hole punches and mmap
# reads and writes, every read checked against an in-memory model of the file; the file is
# closed and reopened now and then, and its size (fstat) checked after every op. On success it
# prints one JSON line: {"ops", "counts", "size", "sha"} (sha256 of the final content, which
# equals the model's). On the first mismatch it prints what differed, the op's index and the
# ops before it, and exits 1. The same seed makes the same ops.
# usage: python3 fsx.py FILE NOPS SEED [MAXLEN]     (MAXLEN: largest file, default 262144)
import errno
import hashlib
import json
import mmap
import os
import random
import sys
import ctypes
import ctypes.util

path = sys.argv[1]
nops = int(sys.argv[2])
seed = int(sys.argv[3])
maxlen = int(sys.argv[4]) if len(sys.argv) > 4 else 256 * 1024

rnd = random.Random(seed)
libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
PAGE = mmap.PAGESIZE

model = bytearray()
log = []
counts = {}


def fail(i, what, **details):
    print(json.dumps({'failed': what, 'op': i, 'details': details, 'last_ops': log[-20:]}, default=str))
    sys.exit(1)


def first_diff(a, b):
    for k in range(min(len(a), len(b))):
        if a[k] != b[k]:
            return k
    return min(len(a), len(b))


def check_range(i, got, off, what):
    want = bytes(model[off:off + len(got)]) if off < len(model) else b''
    if got != want:
        k = first_diff(got, want)
        fail(i, what, offset=off + k, got=got[k:k + 16].hex(), want=want[k:k + 16].hex(), got_len=len(got), want_len=len(want))


fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)


def set_len(n):
    if n < len(model):
        del model[n:]
    else:
        model.extend(bytes(n - len(model)))


for i in range(nops):
    r = rnd.random()
    if r < 0.30:
        op = 'write'
        off = rnd.randrange(maxlen)
        n = rnd.randrange(1, min(65536, maxlen - off) + 1)
        data = rnd.randbytes(n)
        log.append((i, op, off, n))
        got = os.pwrite(fd, data, off)
        if got != n:
            fail(i, 'short write', got=got, want=n)
        if off > len(model):
            set_len(off)
        model[off:off + n] = data
    elif r < 0.55:
        op = 'read'
        off = rnd.randrange(maxlen)
        n = rnd.randrange(1, 65537)
        log.append((i, op, off, n))
        got = os.pread(fd, n, off)
        check_range(i, got, off, 'read')
        want_len = max(0, min(n, len(model) - off))
        if len(got) != want_len:
            fail(i, 'read length', got=len(got), want=want_len)
    elif r < 0.65:
        op = 'truncate'
        n = rnd.randrange(maxlen + 1)
        log.append((i, op, n))
        os.ftruncate(fd, n)
        set_len(n)
    elif r < 0.78:
        op = 'mapwrite'
        off = rnd.randrange(maxlen)
        n = rnd.randrange(1, min(32768, maxlen - off) + 1)
        data = rnd.randbytes(n)
        log.append((i, op, off, n))
        if off + n > len(model):
            # a mapping cannot grow the file: extend it first, as fsx does
            os.ftruncate(fd, off + n)
            set_len(off + n)
        start = off - off % PAGE
        m = mmap.mmap(fd, off + n - start, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=start)
        m[off - start:off - start + n] = data
        m.flush()
        m.close()
        model[off:off + n] = data
    elif r < 0.88:
        op = 'mapread'
        if len(model) == 0:
            continue
        off = rnd.randrange(len(model))
        n = rnd.randrange(1, min(65536, len(model) - off) + 1)
        log.append((i, op, off, n))
        start = off - off % PAGE
        m = mmap.mmap(fd, off + n - start, mmap.MAP_SHARED, mmap.PROT_READ, offset=start)
        got = m[off - start:off - start + n]
        m.close()
        check_range(i, got, off, 'mapread')
    elif r < 0.94:
        op = 'punch'
        if len(model) == 0:
            continue
        off = rnd.randrange(len(model))
        n = rnd.randrange(1, 65537)
        log.append((i, op, off, n))
        if libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n) != 0:
            e = ctypes.get_errno()
            fail(i, 'punch hole', errno=errno.errorcode.get(e, e))
        end = min(off + n, len(model))
        model[off:end] = bytes(end - off)
    elif r < 0.97:
        op = 'reopen'
        log.append((i, op))
        os.close(fd)
        fd = os.open(path, os.O_RDWR)
    else:
        op = 'fsync'
        log.append((i, op))
        os.fsync(fd)
    counts[op] = counts.get(op, 0) + 1
    size = os.fstat(fd).st_size
    if size != len(model):
        fail(i, 'size', got=size, want=len(model))

os.close(fd)
with open(path, 'rb') as f:
    final = f.read()
if final != bytes(model):
    fail(nops, 'final content', offset=first_diff(final, model), got_len=len(final), want_len=len(model))
print(json.dumps({'ops': nops, 'counts': counts, 'size': len(model), 'sha': hashlib.sha256(final).hexdigest()}))
