// Fault injection: a TEST HOOK, inert unless armed. It lets the test suite provoke the failure
// paths of the READ reply executors, the worker start-up and INIT, which the kernel never
// produces on demand, so that the real recovery code (drain or replace the pipe, fall back to
// copy, count, answer with an error) runs and can be checked.
//
// A process-wide table says, per syscall site, "after the next S runs of this site, fail the
// N runs that follow with errno E" (S is usually 0). It is armed only by
//   - addon.injectFault(site, errno, count, skip) from JavaScript (count 0 disarms), or
//   - the environment variable SPLICEFS_FAULTS, read once when the addon loads:
//       SPLICEFS_FAULTS=site:ERRNO:count[:skip][,...]  e.g. clone:EMFILE:1 or data:EAGAIN:2:10
//     (errno as a name or a number)
// Unarmed, a site costs one relaxed atomic load. Sites run on the JavaScript thread and on
// worker threads alike, so the table is atomic.
#pragma once

#include <atomic>

namespace splicefs {

enum FaultSite {
  kFaultHeader,  // "header": the reply header into the pipe (vmsplice or write)   -> kStageHeader
  kFaultData,    // "data":   splice from the backing file into the pipe
                 //           (EAGAIN -> kStagePipeFull, another errno -> kStageFile)
  kFaultPread,   // "pread":  the copy path's pread of the backing file           -> kStageFile
  kFaultDrain,   // "drain":  emptying a pipe after a failure (splice to /dev/null): the pipe is
                 //           closed and a new one made
  kFaultPipe,    // "pipe":   pipe2() of a new pipe (with "drain": no pipe left -> kStagePipe)
  kFaultDevice,  // "device": a READ reply into /dev/fuse (splice or write). The syscall IS made
                 //           and then reported as failed: a reply the kernel refuses (ENOENT, the
                 //           request was interrupted) cannot be provoked on demand, and a reply
                 //           not sent would leave its reader waiting uninterruptibly.
  kFaultClone,   // "clone":  FUSE_DEV_IOC_CLONE of a worker's /dev/fuse fd
  kFaultInit,    // "init":   the INIT reply write (checked by TypeScript through takeFault)
  kFaultBacking, // "backing": FUSE_DEV_IOC_BACKING_OPEN (EPERM stands in for a server without
                 //           CAP_SYS_ADMIN, ELOOP for a source that cannot be stacked on)
  kFaultRequest, // "request": a worker's read of the next request (read or splice of /dev/fuse);
                 //           an errno other than EAGAIN/EINTR/ENOENT/ENODEV makes it leave
  kFaultFlush,   // "flush":  a FLUSH's close(dup(fd)) (EIO stands in for an error a filesystem
                 //           reports only at close, as NFS does with a failed write-back)
  kFaultSites
};

struct FaultSlot {
  std::atomic<int> remaining{0};  // runs still to count: skip + count
  std::atomic<int> failing{0};    // the last `failing` of them fail
  std::atomic<int> err{0};
};
extern FaultSlot gFaults[kFaultSites];

int TakeFaultSlow(FaultSite site);

// The errno to fail this run of `site` with, or 0: run the syscall as usual.
inline int TakeFault(FaultSite site) {
  if (gFaults[site].remaining.load(std::memory_order_relaxed) <= 0) return 0;
  return TakeFaultSlow(site);
}

}  // namespace splicefs
