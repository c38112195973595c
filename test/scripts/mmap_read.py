# Reads a file through mmap and prints SHA-256 digests as one JSON object: the whole file and
# four slices (offsets 1, 4095, size-100, size/2+7) through a shared and through a private
# mapping ("shared", "shared_slices", "private", "private_slices"), and the whole of a mapping
# that starts at page offset 8192 ("offset8192"). The file must be larger than 8192 bytes.
#
# usage: python3 mmap_read.py PATH
import mmap, os, sys, hashlib, json
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
size = os.fstat(fd).st_size
out = {}
for name, access in (("shared", mmap.ACCESS_READ), ("private", mmap.ACCESS_COPY)):
    m = mmap.mmap(fd, 0, access=access)
    out[name] = hashlib.sha256(m[:]).hexdigest()
    out[name + "_slices"] = [hashlib.sha256(m[a:a + n]).hexdigest() for a, n in ((1, 4095), (4095, 8193), (size - 100, 200), (size // 2 + 7, 300000))]
    m.close()
# an mmap at a nonzero page offset
m = mmap.mmap(fd, size - 8192, offset=8192, access=mmap.ACCESS_READ)
out["offset8192"] = hashlib.sha256(m[:]).hexdigest()
m.close()
os.close(fd)
print(json.dumps(out))
