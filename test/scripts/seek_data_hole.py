# Prints, as one JSON object keyed by offset, what lseek(SEEK_DATA) and lseek(SEEK_HOLE) return
# at a fixed set of offsets of a file (0, 1, 100, page edges, 1 MiB and 2 MiB marks, around EOF),
# plus any extra offsets given. Each value is [data, hole]: a position, or "E<errno>".
# Used to compare what the mount answers with what the source answers.
#
# usage: python3 seek_data_hole.py PATH [EXTRA_OFFSET ...]
import os, sys, json
p = sys.argv[1]
extra = [int(a) for a in sys.argv[2:]]
fd = os.open(p, os.O_RDONLY)
size = os.fstat(fd).st_size
out = {}
for off in extra + [0, 1, 100, 4095, 4096, 65536, 1048576, 1048576 + 5000, 1048576 + 20000, 2097152, size - 1, size, size + 1]:
    if off < 0:
        continue
    row = []
    for name, wh in (("data", os.SEEK_DATA), ("hole", os.SEEK_HOLE)):
        try:
            row.append(os.lseek(fd, off, wh))
        except OSError as e:
            row.append("E" + str(e.errno))
    out[str(off)] = row
os.close(fd)
print(json.dumps(out, sort_keys=True))
