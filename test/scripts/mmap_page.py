# Maps one page of a file (MAP_SHARED or MAP_PRIVATE, PROT_READ) with mmap(2) itself, whatever
# the file's size (Python's mmap module refuses a mapping past EOF), prints "mapped", then reads
# the first byte and prints it. Past the end of the file that read is SIGBUS, as the kernel
# wants; a refused mapping prints "mmap failed: <strerror>" and exits 1.
#
# usage: python3 mmap_page.py PATH shared|private
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
PROT_READ, MAP_SHARED, MAP_PRIVATE = 1, 1, 2
fd = os.open(sys.argv[1], os.O_RDONLY)
flags = MAP_SHARED if sys.argv[2] == "shared" else MAP_PRIVATE
p = libc.mmap(None, 4096, PROT_READ, flags, fd, 0)
if p is None or p == ctypes.c_void_p(-1).value:
    print("mmap failed:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
print("mapped", flush=True)
print("first byte", ctypes.string_at(p, 1), flush=True)
