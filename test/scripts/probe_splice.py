# Says whether splice(2) from a file into a pipe works: prints "ok", or "E<errno>" (E22, EINVAL,
# for a file whose file_operations have no splice_read).
#
# usage: python3 probe_splice.py PATH
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
r, w = os.pipe()
try:
    os.splice(fd, w, 65536)
    print("ok")
except OSError as e:
    print("E%d" % e.errno)
