// THE READ executor: the one routine that answers a READ by a plan, run by the event loop's
// ReadExecutor (executor.cc) and by every worker thread (workers.cc). Plain C++: no N-API here,
// so worker threads can call it.
//
// A plan is numbers TypeScript chose (datapath/read.ts); the executor applies them and decides
// nothing else. Its enumerations are exported to TypeScript as addon.constants (executor.cc),
// so they are written down here only.
//
// Everything returns the data bytes sent (>= 0) or a failure code -(stage << 12 | errno). On
// any failure nothing has reached /dev/fuse, except a kStageDevice failure (the device refused
// the reply: ENOENT = the request was interrupted, ENODEV = the connection is gone).
#pragma once

#include "pipe.h"

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace splicefs {

enum Stage {
  kStageFile = 1,         // reading the backing file failed (errno; EINVAL = no splice_read)
  kStageDevice = 2,       // writing the reply into /dev/fuse failed
  kStageShort = 3,        // `write` strategy: data shorter than the header announced
  kStagePipeFull = 4,     // the pipe had no room for the data (slots)
  kStageHeader = 5,       // putting the header into the pipe failed
  kStagePipe = 6,         // the pipe could not be made, emptied or recreated
  kStagePipeTooSmall = 7, // the reply needs more slots than the pipe has (not attempted)
};

inline double Fail(int stage, int err) {
  return -static_cast<double>((stage << 12) | (err & 0xfff));
}
inline int FailStage(double r) { return static_cast<int>(-r) >> 12; }
inline int FailErrno(double r) { return static_cast<int>(-r) & 0xfff; }

// ---- the plan -------------------------------------------------------------------------------

enum ReadPath { kPathSplice = 0, kPathCopy = 1 };
// How a spliced reply's header gets its length: patched after the data splice (the pipe
// references the header page), or written with the length the file holds (fstat) beforehand.
enum HeaderMode { kHeaderPatch = 0, kHeaderWrite = 1 };
// What a copy reply is counted as besides copyReplies: NO_SPLICE = a copy plan standing in for
// splice (a file without splice_read).
enum CountAs { kCountNone = 0, kCountNoSplice = 1 };

// What a worker thread does with a handle's WRITE, FSYNC and FALLOCATE (write.h): hand them to
// the event loop, or execute them here (a WRITE by pwrite of the payload from the request).
// kWriteSplice: the worker read the request by splice (Workers made with spliceRequests), and
// moves the payload from its pipe into the file by splice; the other two opcodes as for copy.
enum WriteExec { kWriteHandOver = 0, kWriteCopy = 1, kWriteSplice = 2 };

// A plan arrives from JavaScript as an Int32Array with these fields, in this order.
// kPlanFlush: 1 when the handle's FLUSH has nothing for the event loop to do (TypeScript says
// so), so the worker that reads it answers it at once; 0: hand it over.
enum PlanField { kPlanFd, kPlanPath, kPlanHeader, kPlanSpliceMin, kPlanMaxSize, kPlanCountAs, kPlanWrite, kPlanFlush, kPlanFields };
inline constexpr const char* kPlanFieldNames[kPlanFields] = {"fd", "path", "header", "spliceMin", "maxSize", "countAs", "write", "flush"};

struct ReadPlan {
  int fd = -1;             // the backing file
  int path = kPathCopy;    // ReadPath
  int header = kHeaderWrite;  // HeaderMode (splice only)
  uint32_t spliceMin = 0;  // splice path: a READ of fewer bytes goes by copy (counted smallCopies)
  uint32_t maxSize = 0;    // a READ is cut to this many bytes
  int countAs = kCountNone;
  int write = kWriteHandOver;  // WriteExec: this handle's WRITE/FSYNC/FALLOCATE in the worker
  int flush = 0;               // 1: FLUSH answered by the worker (nothing to do)
};

// The plan in `fields` (kPlanFields int32 values), or false when a value is out of range.
bool PlanFromFields(const int32_t* fields, ReadPlan* out);

// ---- counters -------------------------------------------------------------------------------

enum ReadCounter {
  kSpliceReplies,
  kSpliceBytes,
  kCopyReplies,
  kCopyBytes,
  kSmallCopies,     // splice plan, READ under spliceMin: sent by copy
  kNoSpliceCopies,  // copy replies of a plan counted as NO_SPLICE
  kInterrupted,     // replies the device refused with ENOENT (the request was interrupted)
  // Executed by worker threads for a handle whose plan says kWriteCopy (write.h):
  kWriteCopyReplies,  // WRITE replies (success, possibly short)
  kWriteCopyBytes,    // payload bytes written
  kWriteErrorReplies, // WRITEs answered with an errno
  kWriteSpliceReplies,  // WRITE replies whose payload went pipe -> file by splice
  kWriteSpliceBytes,
  kWriteSpliceFallbacks,  // spliced-in WRITEs whose file refused splice: copied out of the pipe
  kFsyncReplies,      // FSYNCs answered (either way)
  kFallocateReplies,  // FALLOCATEs answered (either way)
  kFlushReplies,      // FLUSHes answered by a worker
  kCapabilityGetxattrReplies,  // GETXATTRs of security.capability answered by a worker (write.h)
  kWriteStreams,     // write mode auto: a worker began reading requests by splice (a stream of large WRITEs)
  kWriteStreamEnds,  // ... and went back to read(2) when it ended (write.h RequestSplicing)
  kReadCounters
};
inline constexpr const char* kReadCounterNames[kReadCounters] = {
    "spliceReplies", "spliceBytes", "copyReplies", "copyBytes", "smallCopies", "noSpliceCopies", "interrupted",
    "writeCopyReplies", "writeCopyBytes", "writeErrorReplies", "writeSpliceReplies", "writeSpliceBytes",
    "writeSpliceFallbacks", "fsyncReplies", "fallocateReplies", "flushReplies", "capabilityGetxattrReplies",
    "writeStreams", "writeStreamEnds"};

// One block per session, shared by the event loop's executor and every worker thread.
struct ReadCounters {
  std::atomic<uint64_t> v[kReadCounters] = {};
};

// Counters a reply is added to just BEFORE it goes into /dev/fuse, and taken back from if the
// device refuses it: the reply wakes the reader, who may look at the counters at once, so
// counting after the syscall would race with it (worker threads; the JavaScript path counts
// on the same thread the reader's callback runs on). Null members are skipped.
struct Tally {
  std::atomic<uint64_t>* replies = nullptr;
  std::atomic<uint64_t>* bytes = nullptr;
  std::atomic<uint64_t>* extra = nullptr;  // a reason counter (small read, no splice_read)
  void Add(size_t got) const {
    if (replies) replies->fetch_add(1, std::memory_order_relaxed);
    if (bytes) bytes->fetch_add(got, std::memory_order_relaxed);
    if (extra) extra->fetch_add(1, std::memory_order_relaxed);
  }
  void Undo(size_t got) const {
    if (replies) replies->fetch_sub(1, std::memory_order_relaxed);
    if (bytes) bytes->fetch_sub(got, std::memory_order_relaxed);
    if (extra) extra->fetch_sub(1, std::memory_order_relaxed);
  }
};

// ---- the executor ---------------------------------------------------------------------------

// What one thread's executor owns. Never shared between threads: the pipe's header page is
// referenced by the pipe until it is drained.
struct ExecutorState {
  Pipe pipe;
  int devnull = -1;              // where a failed reply's pipe contents go
  std::vector<uint8_t> copybuf;  // header + data of a copy reply
  int pipeBytes = 0;             // asked of F_SETPIPE_SZ when a pipe is (re)made; 0 = no pipe
  int sizeError = 0;             // errno of a refused F_SETPIPE_SZ at open, else 0
  int lastPath = kPathCopy;      // the ReadPath the last ExecuteRead took (for debug lines)
};

// Open /dev/null, the copy buffer (16 + maxRead) and, with pipeBytes > 0, the pipe. Returns 0
// or -errno of what failed; a refused F_SETPIPE_SZ is not a failure (st.sizeError, default size).
int OpenExecutor(ExecutorState& st, int pipeBytes, size_t maxRead);
void CloseExecutor(ExecutorState& st);

// Answer READ `unique` on `devfd` by `plan` (see the top of this file for the result).
double ExecuteRead(const ReadPlan& plan, ExecutorState& st, int devfd, uint64_t unique, uint64_t offset,
                   uint32_t size, ReadCounters& counters);

// The two ways a reply travels (ExecuteRead picks by the plan).
// strategy kHeaderPatch: vmsplice the header, patch its length after the data splice;
//          kHeaderWrite: write a header announcing `expected` bytes (short data = kStageShort).
double SpliceOne(Pipe& p, int devnull, int pipeBytesForReset, int devfd, uint64_t unique, int filefd,
                 int64_t offset, size_t size, int strategy, size_t expected,
                 const Tally* tally = nullptr);
// pread into buf + 16, header in buf[0, 16), one write. buf holds `cap` bytes.
double CopyOne(int devfd, uint64_t unique, int filefd, int64_t offset, size_t size, uint8_t* buf,
               size_t cap, const Tally* tally = nullptr);

}  // namespace splicefs
