// The READ reply executors, shared by the JavaScript-driven path (splice.cc) and the worker
// threads (workers.cc). Plain C++: no N-API here, so worker threads can call them.
//
// Both return the data bytes sent (>= 0) or a failure code -(stage << 12 | errno). On any
// failure nothing has reached /dev/fuse, except a kStageDevice failure (the device refused the
// reply: ENOENT = the request was interrupted, ENODEV = the connection is gone).
#pragma once

#include <linux/fuse.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace splicefs {

enum Stage {
  kStageFile = 1,         // reading the backing file failed (errno; EINVAL = no splice_read)
  kStageDevice = 2,       // writing the reply into /dev/fuse failed
  kStageShort = 3,        // `write` strategy: data shorter than the header announced
  kStagePipeFull = 4,     // the pipe had no room for the data (slots)
  kStageHeader = 5,       // putting the header into the pipe failed
  kStagePipe = 6,         // the pipe could not be emptied or recreated
  kStagePipeTooSmall = 7, // the reply needs more slots than the pipe has (not attempted)
};

inline double Fail(int stage, int err) {
  return -static_cast<double>((stage << 12) | (err & 0xfff));
}

// A pipe and the page of memory its reply header lives in. The header memory stays put until
// the pipe is drained: under the `patch` strategy the pipe references it (vmsplice).
struct Pipe {
  int rfd = -1;
  int wfd = -1;
  int bytes = 0;  // what F_GETPIPE_SZ reports
  fuse_out_header* header = nullptr;
};

// Make a pipe of `bytes` (0 = default size). Returns 0, or -errno of F_SETPIPE_SZ (the pipe
// exists with its default size), or -errno of pipe2/alloc (no pipe: p.rfd < 0).
int OpenPipe(Pipe& p, int bytes);
void ClosePipe(Pipe& p);  // closes fds, frees the header page
// Empty a pipe after a failure (splice to /dev/null); replace it if that fails. 0 or -errno
// (-errno: no pipe now, p.rfd < 0).
int DrainPipe(Pipe& p, int devnull, int bytes);
// Make sure there is a pipe: one lost to a failed replacement is made again at its next use,
// so a passing failure (EMFILE) does not turn splice off for good. 0 or -errno.
int EnsurePipe(Pipe& p, int bytes);

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

// strategy 0 = patch (vmsplice header, patch its length after the data splice),
//          1 = write (write a header announcing `expected` bytes; short data = kStageShort).
double SpliceOne(Pipe& p, int devnull, int pipeBytesForReset, int devfd, uint64_t unique, int filefd,
                 int64_t offset, size_t size, int strategy, size_t expected,
                 const Tally* tally = nullptr);

// pread into buf + 16, header in buf[0, 16), one write. buf holds `cap` bytes.
double CopyOne(int devfd, uint64_t unique, int filefd, int64_t offset, size_t size, uint8_t* buf,
               size_t cap, const Tally* tally = nullptr);

// Pipe slots a reply needs: one for the header, one per page the data range touches.
inline size_t SlotsNeeded(int64_t offset, size_t size) {
  if (size == 0) return 1;
  size_t first = static_cast<size_t>(offset % 4096);
  return 1 + (first + size + 4095) / 4096;
}

}  // namespace splicefs
