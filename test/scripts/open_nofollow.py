# Opens a path with O_RDONLY | O_NOFOLLOW: prints "opened", or the errno of the failure
# (ELOOP's number when the path is a symlink).
#
# usage: python3 open_nofollow.py PATH
import os,sys
try:
  os.open(sys.argv[1], os.O_RDONLY | os.O_NOFOLLOW)
  print("opened")
except OSError as e:
  print(e.errno)
