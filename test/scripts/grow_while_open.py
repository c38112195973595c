# Opens READ_PATH (an empty file), appends a line to GROW_PATH (the same file, on the source),
# and prints what the open file shows step by step: a read(2) at open, a read and a pread after
# the growth, then (after SLEEP seconds, past the attribute timeout) its fstat size and the
# content of a shared mmap of the same fd.
#
# usage: python3 grow_while_open.py READ_PATH GROW_PATH SLEEP
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
print("at open:", os.read(fd, 100))
with open(sys.argv[2], "ab") as w:
    w.write(b"grown after open\n")
print("read again:", os.read(fd, 100))
print("pread at 0:", os.pread(fd, 100, 0))
time.sleep(float(sys.argv[3]))
print("size:", os.fstat(fd).st_size)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
print("shared mmap:", m[:])
