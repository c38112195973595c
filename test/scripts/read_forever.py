# Reads a file with O_DIRECT in 1 MiB blocks, from the start again and again, until killed.
# Prints "reading" (flushed) once the file is open, so the caller knows when to kill it.
#
# usage: python3 read_forever.py PATH
import os, sys, mmap
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1048576)
print("reading", flush=True)
while True:
    off = 0
    while os.preadv(fd, [buf], off) > 0:
        off += 1048576
