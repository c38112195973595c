# Opens a file for reading, prints "open" (flushed), then keeps it open for 60 seconds (or until
# killed): a process that makes its mount busy.
#
# usage: python3 hold_open.py PATH
import sys,time
f=open(sys.argv[1])
print("open", flush=True)
time.sleep(60)
