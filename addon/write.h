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

// A worker's read of the next request into req[0, cap): by splice (ReadRequestBySplice) when
// spliceMin > 0 (the mount splices requests; the bytes of its largest request, which TypeScript
// computed) and st's pipe holds that many bytes, else by read(2). A smaller pipe (F_SETPIPE_SZ
// refused this thread what the mount was sized for) must not be used: the kernel refuses or
// fails a read shorter than the request, and splice cuts the length to the pipe's room.
ssize_t ReadRequest(ExecutorState& st, int devfd, uint8_t* req, size_t cap, size_t spliceMin, const PlanLookup& lookup,
                    ReadCounters& counters, bool* done);

}  // namespace splicefs
