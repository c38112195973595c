// Pipes for spliced READ replies (see pipe.h). A pipe is never reused dirty: after a failure
// it is drained, and replaced when draining fails.
#include "pipe.h"

#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace splicefs {

int OpenPipe(Pipe& p, int bytes) {
  if (!p.header) {
    void* mem = nullptr;
    if (posix_memalign(&mem, kPageSize, kPageSize) != 0) return -ENOMEM;
    memset(mem, 0, kPageSize);
    p.header = static_cast<fuse_out_header*>(mem);
  }
  int fds[2];
  if (int e = TakeFault(kFaultPipe)) return -e;
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
  p.rfd = fds[0];
  p.wfd = fds[1];
  int err = 0;
  if (bytes > 0 && fcntl(p.wfd, F_SETPIPE_SZ, bytes) < 0) err = -errno;
  p.bytes = fcntl(p.wfd, F_GETPIPE_SZ);
  return err;
}

static void CloseFds(Pipe& p) {
  if (p.rfd >= 0) close(p.rfd);
  if (p.wfd >= 0) close(p.wfd);
  p.rfd = p.wfd = -1;
}

void ClosePipe(Pipe& p) {
  CloseFds(p);
  free(p.header);
  p.header = nullptr;
}

int DrainPipe(Pipe& p, int devnull, int bytes) {
  for (;;) {
    ssize_t n;
    if (int e = TakeFault(kFaultDrain)) {
      n = -1;
      errno = e;
    } else {
      n = splice(p.rfd, nullptr, devnull, nullptr, 1 << 30, SPLICE_F_NONBLOCK);
    }
    if (n > 0) continue;
    if (n == 0 || errno == EAGAIN) return 0;
    if (errno == EINTR) continue;
    break;
  }
  // Could not empty it: replace it, so a dirty pipe is never used again.
  CloseFds(p);
  int err = OpenPipe(p, bytes);
  return p.rfd < 0 ? err : 0;
}

int EnsurePipe(Pipe& p, int bytes) {
  if (p.rfd >= 0 && p.header) return 0;
  int err = OpenPipe(p, bytes);
  if (p.rfd >= 0) return 0;  // perhaps smaller than asked (F_SETPIPE_SZ refused): slots decide
  return err < 0 ? err : -EBADF;
}

}  // namespace splicefs
