# Opens every PATH with O_PATH | O_NOFOLLOW (no FUSE OPEN), sleeps SLEEP seconds (past the
# attribute timeout, so what follows asks the server: GETATTR), then prints "st_ino PATH" of
# each from fstat(2).
#
# usage: python3 fstat_later.py SLEEP PATH...
import os, sys, time
fds = [(os.open(p, os.O_PATH | os.O_NOFOLLOW), p) for p in sys.argv[2:]]
time.sleep(float(sys.argv[1]))
for fd, p in fds:
    print(os.fstat(fd).st_ino, p)
