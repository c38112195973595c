# Opens a file for reading, prints "open" (flushed), then for each line "OFFSET SIZE" on stdin
# preads that range and prints how many bytes it got; exits at the end of stdin. A file held
# open by another process, read when the test says so (a process serving a mount must not hold
# a file of it open while it spawns: the child's exec closes the fd, a FLUSH the server's
# blocked event loop cannot answer).
#
# usage: python3 read_on_cue.py PATH
import os,sys
fd=os.open(sys.argv[1],os.O_RDONLY)
print("open",flush=True)
for line in sys.stdin:
    off,size=(int(x) for x in line.split())
    print(len(os.pread(fd,size,off)),flush=True)
os.close(fd)
