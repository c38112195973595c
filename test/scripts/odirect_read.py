# Reads a file opened O_DIRECT into page-aligned buffers and prints one JSON object of SHA-256
# digests: "whole_<bs>" for the whole file read in blocks of 1048576, 4096 and 1040384 bytes;
# "at4096", "tail" and "past" as [digest, bytes read] for 64 KiB at offset 4096, three pages
# from the last full page before EOF (a short read across EOF), and a page past EOF.
#
# usage: python3 odirect_read.py PATH
import mmap, os, sys, hashlib, json
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
size = os.fstat(fd).st_size
out = {}
def read_at(off, n):
    buf = mmap.mmap(-1, n)  # page-aligned anonymous memory, as O_DIRECT wants
    got = os.preadv(fd, [buf], off)
    return hashlib.sha256(buf[:got]).hexdigest(), got
# whole file in 1 MiB and 4 KiB aligned blocks
for bs in (1048576, 4096, 1040384):
    h = hashlib.sha256()
    off = 0
    while True:
        buf = mmap.mmap(-1, bs)
        got = os.preadv(fd, [buf], off)
        if got <= 0:
            break
        h.update(buf[:got])
        off += got
    out["whole_%d" % bs] = h.hexdigest()
out["at4096"] = read_at(4096, 65536)
out["tail"] = read_at((size // 4096) * 4096 - 4096, 3 * 4096)
out["past"] = read_at(((size + 8191) // 4096) * 4096, 4096)
os.close(fd)
print(json.dumps(out))
