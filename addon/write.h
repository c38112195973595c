// The worker threads' side of a writable handle: WRITE (pwrite of the payload, read with the
// request, into the backing file), FSYNC and FALLOCATE, executed where the request was read
// so that a slow disk blocks one worker, never the event loop. Only for a handle whose plan
// (reply.h) says kWriteCopy: TypeScript decides which handles (datapath/write.ts), and every
// other case goes to the event loop as before.
#pragma once

#include "reply.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <sys/types.h>

namespace splicefs {

// Execute the request in req[0, n) (a WRITE, FSYNC, FALLOCATE or FLUSH of `plan`'s handle) and write
// its reply on devfd. True when the request needs nothing more (replied, or the device refused
// the reply: interrupted or gone); false when it is not one of these opcodes or is malformed
// (then the event loop gets it, and answers it as TypeScript decides).
bool ExecuteHandleOp(const ReadPlan& plan, int devfd, const uint8_t* req, size_t n, ReadCounters& counters);

// FLUSH of a handle: close(dup(fd)), which runs the backing file's own flush (NFS writes back
// and reports a failed write-back there; FUSE sends FLUSH) without closing fd. 0 or -errno. A
// dup refused (no fd left) is not the caller's error: 0, as if nothing were to flush. EINTR
// from close is 0 too: the fd is gone either way. Used by the workers and by the event loop
// (addon.flushFd).
int FlushFd(int fd);

// GETXATTR of "security.capability": what the kernel asks before every buffered write and
// fallocate of a file (file_remove_privs; FUSE has no SB_NOSEC until an inode proved clean), so
// it must not wait on the event loop while the write itself would run here. True if req is one.
bool IsCapabilityGetxattr(const uint8_t* req, size_t n);

// Answer such a GETXATTR with fgetxattr(2) on fd (an open handle's fd of the node; the caller
// owns it): the value, the size it needs (size 0), or the errno (ENODATA, ERANGE, EOPNOTSUPP),
// as the event loop's getxattr (passthrough/ops/xattr.ts) answers it. True unless the device
// refused the reply for good.
bool ExecuteCapabilityGetxattr(int fd, int devfd, const uint8_t* req, size_t n, ReadCounters& counters);

// The plan registered for file handle fh (false: none).
using PlanLookup = std::function<bool(uint64_t fh, ReadPlan* out)>;

// Read the next request from devfd by splice into st's pipe (FUSE's splice read: the payload
// pages of a WRITE are referenced, not copied). A WRITE of a handle whose plan says
// kWriteSplice is executed at once, its payload spliced from the pipe into the file, and
// *done set. Any other request is read out of the pipe into req[0, n). Returns n as read(2)
// would (-1 with errno, EAGAIN included). The pipe is empty again when it returns.
ssize_t ReadRequestBySplice(ExecutorState& st, int devfd, uint8_t* req, size_t cap, const PlanLookup& lookup,
                            ReadCounters& counters, bool* done);

// How a worker reads requests: TypeScript's choice (datapath/write.ts requestSplicing), one
// copy per worker thread, which keeps its own state. A request read by splice costs two syscalls
// more than read(2) (the header and body come back out of the pipe) unless it is a WRITE whose
// payload goes on into its file by splice, saving a copy of the payload. So:
//   kSpliceNever:   read(2) (write mode copy, or no pipe that holds the largest request);
//   kSpliceAlways:  splice (write mode splice);
//   kSpliceStreams: read(2), and splice while this worker sees a stream of large WRITEs (write
//                   mode auto): a WRITE of at least largeWrite payload bytes adds 2 to a score
//                   (up to cap), any other request takes 1 off; splicing starts when the score
//                   reaches enter and stops when it is back at 0.
struct RequestSplicing {
  enum Mode { kSpliceNever = 0, kSpliceAlways = 1, kSpliceStreams = 2 };
  int mode = kSpliceNever;
  size_t minPipeBytes = 0;  // the pipe must hold this many bytes (the largest request) to splice
  size_t largeWrite = 0;
  int enter = 0;
  int cap = 0;
  // state (kSpliceStreams)
  int score = 0;
  bool splicing = false;
  // Whether the next request is read by splice (the pipe aside).
  bool Wants() const { return mode == kSpliceAlways || (mode == kSpliceStreams && splicing); }
  // Account for the request just read (req[0, n): its header, and a WRITE's fuse_write_in).
  // Counts a stream's start and end in counters.
  void Saw(const uint8_t* req, size_t n, ReadCounters& counters);
};

// A worker's read of the next request into req[0, cap): by splice (ReadRequestBySplice) when
// `how` wants it and st's pipe holds how.minPipeBytes, else by read(2). A smaller pipe
// (F_SETPIPE_SZ refused this thread what the mount was sized for) must not be used: the kernel
// refuses or fails a read shorter than the request, and splice cuts the length to the pipe's room.
ssize_t ReadRequest(ExecutorState& st, int devfd, uint8_t* req, size_t cap, RequestSplicing& how, const PlanLookup& lookup,
                    ReadCounters& counters, bool* done);

}  // namespace splicefs
