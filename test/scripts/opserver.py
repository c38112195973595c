# Runs file-system operations for the read-write tests, one JSON request per stdin line, one
# JSON answer per stdout line: {"ok": VALUE} or {"err": "ENOENT"} (the errno's name). Paths in
# requests are relative to ROOT (the mount, or the plain reference directory). Open files are
# kept in a table by number ("h"), so two servers fed the same requests number them the same.
# Data is never sent whole: {"seed": S, "len": N} stands for N bytes of random.Random(S), and
# reads answer {"len": N, "sha": SHA256} (and "hex" when 64 bytes or fewer).
# usage: python3 opserver.py ROOT     (requests: see OPS below; "tree" snapshots ROOT)
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import mmap
import os
import random
import stat
import struct
import sys

ROOT = os.fsencode(sys.argv[1])
libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


class Timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]


libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(Timespec), ctypes.c_int]
libc.futimens.argtypes = [ctypes.c_int, ctypes.POINTER(Timespec)]
libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
libc.mknod.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_ulong]

AT_FDCWD = -100
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
RENAME = {'noreplace': 1, 'exchange': 2, 'whiteout': 4}
FALLOC = {'keep_size': 1, 'punch_hole': 2, 'collapse_range': 8, 'zero_range': 16, 'insert_range': 32}
OFLAGS = {
    'rdonly': os.O_RDONLY, 'wronly': os.O_WRONLY, 'rdwr': os.O_RDWR, 'creat': os.O_CREAT,
    'excl': os.O_EXCL, 'trunc': os.O_TRUNC, 'append': os.O_APPEND, 'direct': os.O_DIRECT,
    'directory': os.O_DIRECTORY, 'nofollow': os.O_NOFOLLOW, 'tmpfile': os.O_TMPFILE,
    'sync': os.O_SYNC, 'dsync': os.O_DSYNC, 'noatime': os.O_NOATIME, 'path': os.O_PATH,
}
XFLAGS = {0: 0, None: 0, 'create': os.XATTR_CREATE, 'replace': os.XATTR_REPLACE}
SEEK = {'set': os.SEEK_SET, 'cur': os.SEEK_CUR, 'end': os.SEEK_END, 'data': os.SEEK_DATA, 'hole': os.SEEK_HOLE}

handles = {}
next_handle = [1]


def p(rel):
    """A path under ROOT ('' is ROOT itself)."""
    rel = os.fsencode(rel)
    return ROOT if rel in (b'', b'.') else os.path.join(ROOT, rel)


def data(spec):
    if isinstance(spec, str):
        return spec.encode()
    return random.Random(spec['seed']).randbytes(spec['len'])


def digest(b):
    out = {'len': len(b), 'sha': hashlib.sha256(b).hexdigest()[:32]}
    if len(b) <= 64:
        out['hex'] = b.hex()
    return out


def check(rc):
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return rc


def ftype(m):
    for name, test in (('dir', stat.S_ISDIR), ('file', stat.S_ISREG), ('symlink', stat.S_ISLNK),
                       ('fifo', stat.S_ISFIFO), ('chr', stat.S_ISCHR), ('blk', stat.S_ISBLK), ('sock', stat.S_ISSOCK)):
        if test(m):
            return name
    return '?'


def st(s, times=False):
    out = {'type': ftype(s.st_mode), 'mode': oct(stat.S_IMODE(s.st_mode)), 'nlink': s.st_nlink,
           'uid': s.st_uid, 'gid': s.st_gid}
    if not stat.S_ISDIR(s.st_mode):
        out['size'] = s.st_size
    if times:
        out['atime'] = s.st_atime_ns
        out['mtime'] = s.st_mtime_ns
    return out


def ts(spec):
    """[sec, nsec], 'now' or 'omit'."""
    if spec == 'now':
        return Timespec(0, UTIME_NOW)
    if spec == 'omit':
        return Timespec(0, UTIME_OMIT)
    return Timespec(spec[0], spec[1])


def fd(h):
    if h not in handles:
        raise OSError(errno.EBADF, 'no such handle')
    return handles[h]


def keep(f):
    h = next_handle[0]
    next_handle[0] += 1
    handles[h] = f
    return h


def aligned(n):
    return mmap.mmap(-1, max(n, 4096))


def op_read_direct(h, off, n):
    buf = aligned(n)
    got = os.preadv(fd(h), [memoryview(buf)[:n]], off)
    return digest(bytes(buf[:got]))


def op_write_direct(h, off, spec):
    b = data(spec)
    buf = aligned(len(b))
    buf[:len(b)] = b
    return os.pwritev(fd(h), [memoryview(buf)[:len(b)]], off)


def xattrs(path):
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in sorted(names):
        if n.startswith('user.'):
            try:
                out[n] = os.getxattr(path, n, follow_symlinks=False).hex()
            except OSError as e:
                out[n] = errno.errorcode[e.errno]
    return out


def tree(rel='', times=False):
    """Every node under ROOT/rel: names, types, modes, sizes, contents, link counts, owners,
    symlink targets, user.* xattrs, and which names share an inode ("same": the first name)."""
    base = p(rel)
    out = []
    first = {}

    def walk(d, prefix):
        for name in sorted(os.listdir(d)):
            full = os.path.join(d, name)
            relname = os.fsdecode(prefix + name)
            s = os.lstat(full)
            e = {'path': relname, **st(s, times)}
            if stat.S_ISREG(s.st_mode):
                with open(full, 'rb') as f:
                    e['sha'] = hashlib.sha256(f.read()).hexdigest()[:32]
            elif stat.S_ISLNK(s.st_mode):
                e['target'] = os.fsdecode(os.readlink(full))
            x = xattrs(full)
            if x:
                e['xattrs'] = x
            key = (s.st_dev, s.st_ino)
            if not stat.S_ISDIR(s.st_mode) and s.st_nlink > 1:
                e['same'] = first.setdefault(key, relname)
            out.append(e)
            if stat.S_ISDIR(s.st_mode):
                walk(full, prefix + name + b'/')

    walk(base, b'')
    return out


def lock_struct(kind, start, length):
    t = {'r': fcntl.F_RDLCK, 'w': fcntl.F_WRLCK, 'u': fcntl.F_UNLCK}[kind]
    return struct.pack('hhqqi4x', t, os.SEEK_SET, start, length, 0)


def op_setlk(h, kind, start, length, wait=False):
    fcntl.fcntl(fd(h), fcntl.F_SETLKW if wait else fcntl.F_SETLK, lock_struct(kind, start, length))
    return None


def op_getlk(h, kind, start, length):
    r = fcntl.fcntl(fd(h), fcntl.F_GETLK, lock_struct(kind, start, length))
    t, _w, s, n, pid = struct.unpack('hhqqi4x', r)
    kinds = {fcntl.F_RDLCK: 'r', fcntl.F_WRLCK: 'w', fcntl.F_UNLCK: 'u'}
    out = {'type': kinds[t]}
    if t != fcntl.F_UNLCK:
        out.update({'start': s, 'len': n, 'pidIsPeer': pid != os.getpid() and pid > 0, 'pid': pid})
    return out


def op_flock(h, how):
    f = {'sh': fcntl.LOCK_SH, 'ex': fcntl.LOCK_EX, 'un': fcntl.LOCK_UN}
    fcntl.flock(fd(h), sum(f[x] for x in how.split('|') if x in f) | (fcntl.LOCK_NB if 'nb' in how else 0))
    return None


def op_open(path, flags, mode=0o644):
    f = 0
    for x in flags.split('|'):
        f |= OFLAGS[x]
    return keep(os.open(p(path), f | os.O_CLOEXEC, mode))


def op_close(h):
    if fd(h) >= 0:
        os.close(fd(h))
    del handles[h]
    return None


def op_mmap_write(h, off, spec):
    b = data(spec)
    size = os.fstat(fd(h)).st_size
    start = off - off % mmap.ALLOCATIONGRANULARITY
    m = mmap.mmap(fd(h), off + len(b) - start, offset=start)
    try:
        m[off - start:off - start + len(b)] = b
        m.flush()
    finally:
        m.close()
    return size


def op_mmap_read(h, off, n):
    start = off - off % mmap.ALLOCATIONGRANULARITY
    m = mmap.mmap(fd(h), off + n - start, offset=start, prot=mmap.PROT_READ)
    try:
        return digest(m[off - start:off - start + n])
    finally:
        m.close()


def op_mknod(path, kind, mode, dev=0):
    k = {'fifo': stat.S_IFIFO, 'file': stat.S_IFREG, 'chr': stat.S_IFCHR, 'blk': stat.S_IFBLK, 'sock': stat.S_IFSOCK}[kind]
    check(libc.mknod(p(path), k | mode, dev))
    return None


def op_utimens(path, atime, mtime, nofollow=False):
    arr = (Timespec * 2)(ts(atime), ts(mtime))
    check(libc.utimensat(AT_FDCWD, p(path), arr, 0x100 if nofollow else 0))
    return None


def op_futimens(h, atime, mtime):
    arr = (Timespec * 2)(ts(atime), ts(mtime))
    check(libc.futimens(fd(h), arr))
    return None


def op_fallocate(h, mode, off, n):
    m = 0
    for x in (mode or '').split('|'):
        if x:
            m |= FALLOC[x]
    check(libc.fallocate(fd(h), m, off, n))
    return None


def op_rename2(a, b, flags):
    f = 0
    for x in flags.split('|'):
        if x:
            f |= RENAME[x]
    check(libc.renameat2(AT_FDCWD, p(a), AT_FDCWD, p(b), f))
    return None


def op_writefile(path, spec, mode=0o644):
    f = os.open(p(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        b = data(spec)
        n = 0
        while n < len(b):
            n += os.write(f, b[n:])
        return n
    finally:
        os.close(f)


def op_readfile(path):
    with open(p(path), 'rb') as f:
        return digest(f.read())


def op_write(h, spec):
    b = data(spec)
    return os.write(fd(h), b)


def op_pwrite(h, off, spec):
    b = data(spec)
    n = 0
    while n < len(b):
        n += os.pwrite(fd(h), b[n:], off + n)
    return n


def op_pwrite_once(h, off, spec):
    return os.pwrite(fd(h), data(spec), off)


def op_write_until_full(h, chunk):
    """Write chunk-byte pieces until an error: returns bytes acknowledged and the error."""
    b = random.Random(7).randbytes(chunk)
    total = 0
    try:
        while True:
            n = os.write(fd(h), b)
            if n == 0:
                return {'written': total, 'err': 'zero write'}
            total += n
    except OSError as e:
        return {'written': total, 'err': errno.errorcode[e.errno]}


def op_pread(h, off, n):
    return digest(os.pread(fd(h), n, off))


def op_read(h, n):
    return digest(os.read(fd(h), n))


def op_cfr(hin, offin, hout, offout, n):
    """copy_file_range until n bytes or a short (0) copy: returns the bytes copied."""
    total = 0
    while total < n:
        got = os.copy_file_range(fd(hin), fd(hout), n - total, offin + total, offout + total)
        if got == 0:
            break
        total += got
    return total


def op_stat_times(path):
    return st(os.stat(p(path)), True)


def op_ino_same(a, b):
    x = os.lstat(p(a))
    y = os.lstat(p(b))
    return x.st_ino == y.st_ino and x.st_dev == y.st_dev


def op_fstat_nlink(h):
    return os.fstat(fd(h)).st_nlink


def op_linktmp(h, path):
    # linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, path, AT_SYMLINK_FOLLOW): os.link would call
    # link(2), which does not follow the magic link.
    check(libc.linkat(AT_FDCWD, b'/proc/self/fd/%d' % fd(h), AT_FDCWD, p(path), 0x400))
    return None


OPS = {
    'mkdir': lambda path, mode=0o755: os.mkdir(p(path), mode),
    'rmdir': lambda path: os.rmdir(p(path)),
    'unlink': lambda path: os.unlink(p(path)),
    'rename': lambda a, b: os.rename(p(a), p(b)),
    'rename2': op_rename2,
    'link': lambda a, b: os.link(p(a), p(b), follow_symlinks=False),
    'symlink': lambda target, path: os.symlink(target, p(path)),
    'readlink': lambda path: os.fsdecode(os.readlink(p(path))),
    'mknod': op_mknod,
    'listdir': lambda path='': sorted(os.fsdecode(n) for n in os.listdir(p(path))),
    'stat': lambda path: st(os.stat(p(path))),
    'lstat': lambda path: st(os.lstat(p(path))),
    'stat_times': op_stat_times,
    'fstat': lambda h: st(os.fstat(fd(h))),
    'fstat_nlink': op_fstat_nlink,
    'ino_same': op_ino_same,
    'access': lambda path, how: os.access(p(path), {'r': os.R_OK, 'w': os.W_OK, 'x': os.X_OK, 'f': os.F_OK}[how]),
    'chmod': lambda path, mode: os.chmod(p(path), mode),
    'lchown': lambda path, uid, gid: os.chown(p(path), uid, gid, follow_symlinks=False),
    'chown': lambda path, uid, gid: os.chown(p(path), uid, gid),
    'fchmod': lambda h, mode: os.fchmod(fd(h), mode),
    'fchown': lambda h, uid, gid: os.fchown(fd(h), uid, gid),
    'truncate': lambda path, n: os.truncate(p(path), n),
    'ftruncate': lambda h, n: os.ftruncate(fd(h), n),
    'utimens': op_utimens,
    'futimens': op_futimens,
    'open': op_open,
    'close': op_close,
    'write': op_write,
    'pwrite': op_pwrite,
    'pwrite_once': op_pwrite_once,
    'write_until_full': op_write_until_full,
    'read': op_read,
    'pread': op_pread,
    'read_direct': op_read_direct,
    'write_direct': op_write_direct,
    'lseek': lambda h, off, whence: os.lseek(fd(h), off, SEEK[whence]),
    'fsync': lambda h: os.fsync(fd(h)),
    'fdatasync': lambda h: os.fdatasync(fd(h)),
    'fallocate': op_fallocate,
    'posix_fallocate': lambda h, off, n: os.posix_fallocate(fd(h), off, n),
    'cfr': op_cfr,
    'mmap_write': op_mmap_write,
    'mmap_read': op_mmap_read,
    'writefile': op_writefile,
    'readfile': op_readfile,
    'setxattr': lambda path, name, value, flags=0: os.setxattr(p(path), name, value.encode(), XFLAGS[flags], follow_symlinks=False),
    'getxattr': lambda path, name: os.getxattr(p(path), name, follow_symlinks=False).decode('latin1'),
    'listxattr': lambda path: sorted(n for n in os.listxattr(p(path), follow_symlinks=False) if n.startswith('user.')),
    'removexattr': lambda path, name: os.removexattr(p(path), name, follow_symlinks=False),
    'fsetxattr': lambda h, name, value, flags=0: os.setxattr(fd(h), name, value.encode(), XFLAGS[flags]),
    'setlk': op_setlk,
    'getlk': op_getlk,
    'flock': op_flock,
    'linktmp': op_linktmp,
    'umask': lambda mask: os.umask(mask),
    'ids': lambda: [os.getuid(), os.getgid(), os.getgroups()],
    'tree': tree,
    'pid': lambda: os.getpid(),
    'burn': lambda: keep(-1),
}


def main():
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        name = req[0]
        args = req[1:]
        try:
            fn = OPS[name]
        except KeyError:
            out.write(json.dumps({'err': 'BADOP:' + name}) + '\n')
            out.flush()
            continue
        try:
            v = fn(*args)
            ans = {'ok': v}
        except OSError as e:
            ans = {'err': errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)}
        except (ValueError, TypeError, OverflowError) as e:
            ans = {'err': type(e).__name__ + ': ' + str(e)}
        out.write(json.dumps(ans) + '\n')
        out.flush()


main()
