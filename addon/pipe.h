// The pipe a spliced READ reply is assembled in, with the page of native memory its header
// lives in. Plain C++ (no N-API): worker threads use it too.
#pragma once

#include <linux/fuse.h>

#include <cstddef>
#include <cstdint>

namespace splicefs {

// A pipe counts slots, not bytes: one per page-sized piece (DESIGN.md).
constexpr size_t kPageSize = 4096;

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

// Slots a pipe has.
inline size_t PipeSlots(const Pipe& p) { return p.bytes > 0 ? static_cast<size_t>(p.bytes) / kPageSize : 0; }

// Pipe slots a reply needs: one for the header, one per page the data range touches.
inline size_t SlotsNeeded(uint64_t offset, size_t size) {
  if (size == 0) return 1;
  size_t first = static_cast<size_t>(offset % kPageSize);
  return 1 + (first + size + kPageSize - 1) / kPageSize;
}

}  // namespace splicefs
