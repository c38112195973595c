# Opens a file for writing, prints "open" (flushed), then waits for one line on stdin (the cue)
# and does what MODE says, printing "done" (flushed) when it returns:
#   write      write 1 MiB (bytes i % 251) at offset 0, then fsync
#   fsync      write 1 MiB at offset 0 BEFORE the cue (so the data has reached the server), print
#              "written", then on the cue fsync only
#   fallocate  on the cue posix_fallocate(0, 2 MiB)
#   close      write 1 MiB at offset 0 BEFORE the cue, print "written", then on the cue close
#              the file (FLUSH, then the RELEASE the kernel sends on its own)
# Used to block a server's worker on a backing file whose own server is stopped.
#
# usage: python3 write_on_cue.py MODE PATH
import os, sys

mode, path = sys.argv[1], sys.argv[2]
data = bytes(i % 251 for i in range(1 << 20))
fd = os.open(path, os.O_WRONLY)
print("open", flush=True)
if mode in ("fsync", "close"):
    n = os.pwrite(fd, data, 0)
    assert n == len(data), n
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
else:
    sys.exit("unknown mode " + mode)
print("done", flush=True)
if fd >= 0:
    os.close(fd)
