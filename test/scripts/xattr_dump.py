# Prints every extended attribute of each path as one JSON object keyed by the path's basename:
# {name: value as hex} from listxattr + getxattr, not following symlinks. A path whose list
# fails maps to "E<errno>"; so does a name whose value fails.
#
# usage: python3 xattr_dump.py PATH...
import os, sys, json
out = {}
for p in sys.argv[1:]:
    row = {}
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        out[os.path.basename(p)] = "E%d" % e.errno
        continue
    for n in sorted(names):
        try:
            row[n] = os.getxattr(p, n, follow_symlinks=False).hex()
        except OSError as e:
            row[n] = "E%d" % e.errno
    out[os.path.basename(p)] = row
print(json.dumps(out, sort_keys=True))
