# Prints, as one JSON list, access(2)'s answers for each path: [F_OK, R_OK, X_OK, R_OK|X_OK]
# as booleans, one row a path.
#
# usage: python3 access.py PATH...
import os,sys,json
print(json.dumps([[os.access(p, m) for m in (os.F_OK, os.R_OK, os.X_OK, os.R_OK | os.X_OK)] for p in sys.argv[1:]]))
