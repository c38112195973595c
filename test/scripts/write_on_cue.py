# Opens a file for writing, prints "open" (flushed), then waits for one line on stdin (the cue)
# and does what MODE says, printing "done" (flushed) when it returns:
#   write      write 1 MiB (bytes i % 251) at offset 0, then fsync
#   fsync      write 1 MiB at offset 0 BEFORE the cue (so the data has reached the server), print
#              "written", then on the cue fsync only
#   fallocate  on the cue posix_fallocate(0, 2 MiB)
#   close      write 1 MiB at offset 0 BEFORE the cue, print "written", then on the cue close
#              the file (FLUSH, which the server passes on to the backing file, then the
#              RELEASE the kernel sends on its own)
#   munmap     open read-write, write 1 MiB and map it BEFORE the cue, close the fd (its FLUSH
#              is answered then), print "written"; on the cue unmap it: the last reference
#              goes, and the kernel sends RELEASE alone, no FLUSH
# Used to block a server's worker on a backing file whose own server is stopped.
#
# usage: python3 write_on_cue.py MODE PATH
import os, sys

mode, path = sys.argv[1], sys.argv[2]
data = bytes(i % 251 for i in range(1 << 20))
fd = os.open(path, os.O_RDWR if mode == "munmap" else os.O_WRONLY)
print("open", flush=True)
if mode in ("fsync", "close", "munmap"):
    n = os.pwrite(fd, data, 0)
    assert n == len(data), n
    if mode == "munmap":
        # mmap(2) itself: Python's mmap module keeps a dup of the fd, whose close would FLUSH.
        import ctypes, mmap
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        addr = libc.mmap(None, len(data), mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        os.close(fd)
        fd = -1
    print("written", flush=True)
sys.stdin.readline()
if mode == "write":
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], done)
    os.fsync(fd)
elif mode == "fsync":
    os.fsync(fd)
elif mode == "fallocate":
    os.posix_fallocate(fd, 0, 2 << 20)
elif mode == "close":
    os.close(fd)
    fd = -1
elif mode == "munmap":
    assert libc.munmap(addr, len(data)) == 0, os.strerror(ctypes.get_errno())
else:
    sys.exit("unknown mode " + mode)
print("done", flush=True)
if fd >= 0:
    os.close(fd)
