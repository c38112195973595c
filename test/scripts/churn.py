# Shrinks and regrows a file in place for a while, keeping its content: each round truncates it
# at a random offset, then writes the cut tail back. Prints the number of rounds done.
# Readers of the file see it change size under them, never change bytes.
#
# usage: python3 churn.py PATH SECONDS
import os, sys, random, time
p, secs = sys.argv[1], float(sys.argv[2])
data = open(p, 'rb').read()
fd = os.open(p, os.O_WRONLY)
end = time.time() + secs
n = 0
while time.time() < end:
    cut = random.randrange(0, len(data))
    os.ftruncate(fd, cut)
    os.pwrite(fd, data[cut:], cut)
    n += 1
os.close(fd)
print(n)
