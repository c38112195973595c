// The READ reply executors (see reply.h). They execute a path TypeScript chose; they decide
// nothing beyond keeping a pipe clean.
#include "reply.h"

#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace splicefs {

int OpenPipe(Pipe& p, int bytes) {
  if (!p.header) {
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, 4096) != 0) return -ENOMEM;
    memset(mem, 0, 4096);
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

static double Drained(Pipe& p, int devnull, int bytes, int stage, int err) {
  int r = DrainPipe(p, devnull, bytes);
  return r < 0 ? Fail(kStagePipe, -r) : Fail(stage, err);
}

double SpliceOne(Pipe& p, int devnull, int pipeBytes, int devfd, uint64_t unique, int filefd,
                 int64_t offset, size_t size, int strategy, size_t expected, const Tally* tally) {
  if (int e = EnsurePipe(p, pipeBytes)) return Fail(kStagePipe, -e);
  fuse_out_header* h = p.header;
  h->error = 0;
  h->unique = unique;
  size_t want = strategy == 0 ? size : (expected < size ? expected : size);
  h->len = static_cast<uint32_t>(sizeof(fuse_out_header) + want);

  ssize_t hn;
  if (int e = TakeFault(kFaultHeader)) {
    hn = -1;
    errno = e;
  } else if (strategy == 0) {
    struct iovec iov = {h, sizeof(fuse_out_header)};
    hn = vmsplice(p.wfd, &iov, 1, SPLICE_F_NONBLOCK);
  } else {
    hn = write(p.wfd, h, sizeof(fuse_out_header));
  }
  if (hn != static_cast<ssize_t>(sizeof(fuse_out_header)))
    return Drained(p, devnull, pipeBytes, kStageHeader, hn < 0 ? errno : EIO);

  loff_t off = offset;
  size_t got = 0;
  while (got < want) {
    ssize_t n;
    if (int e = TakeFault(kFaultData)) {
      n = -1;
      errno = e;
    } else {
      n = splice(filefd, &off, p.wfd, nullptr, want - got, SPLICE_F_NONBLOCK);
    }
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) break;  // end of file
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return Drained(p, devnull, pipeBytes, kStagePipeFull, EAGAIN);
    return Drained(p, devnull, pipeBytes, kStageFile, errno);
  }
  if (strategy == 1) {
    if (got != want) return Drained(p, devnull, pipeBytes, kStageShort, EIO);
    // The header announced less than was asked because st_size says the file ends there.
    // Pseudo files (st_size 0 with content) lie about that: make sure it really is the end.
    if (want < size) {
      char probe;
      ssize_t more = pread(filefd, &probe, 1, off);
      if (more != 0) return Drained(p, devnull, pipeBytes, kStageShort, more < 0 ? errno : EIO);
    }
  }
  // The header must match the bytes really in the pipe. Under `patch` this store is what the
  // kernel reads, since the pipe references this memory rather than a copy of it.
  h->len = static_cast<uint32_t>(sizeof(fuse_out_header) + got);
  size_t total = h->len;
  int refused = TakeFault(kFaultDevice);  // made, then reported refused (faults.h)
  if (tally) tally->Add(got);
  ssize_t out = splice(p.rfd, nullptr, devfd, nullptr, total, SPLICE_F_NONBLOCK);
  if (refused) {
    out = -1;
    errno = refused;
  }
  if (out != static_cast<ssize_t>(total)) {
    int e = out < 0 ? errno : EIO;
    if (tally) tally->Undo(got);
    return Drained(p, devnull, pipeBytes, kStageDevice, e);
  }
  return static_cast<double>(got);
}

double CopyOne(int devfd, uint64_t unique, int filefd, int64_t offset, size_t size, uint8_t* buf,
               size_t cap, const Tally* tally) {
  const size_t hs = sizeof(fuse_out_header);
  if (cap < hs) return Fail(kStageFile, EINVAL);
  if (size > cap - hs) size = cap - hs;
  size_t got = 0;
  while (got < size) {
    ssize_t n;
    if (int e = TakeFault(kFaultPread)) {
      n = -1;
      errno = e;
    } else {
      n = pread(filefd, buf + hs + got, size - got, offset + static_cast<off_t>(got));
    }
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    return Fail(kStageFile, errno);
  }
  auto* h = reinterpret_cast<fuse_out_header*>(buf);
  h->len = static_cast<uint32_t>(hs + got);
  h->error = 0;
  h->unique = unique;
  int refused = TakeFault(kFaultDevice);  // made, then reported refused (faults.h)
  if (tally) tally->Add(got);
  ssize_t out = write(devfd, buf, hs + got);
  if (refused) {
    out = -1;
    errno = refused;
  }
  if (out != static_cast<ssize_t>(hs + got)) {
    int e = out < 0 ? errno : EIO;
    if (tally) tally->Undo(got);
    return Fail(kStageDevice, e);
  }
  return static_cast<double>(got);
}

}  // namespace splicefs
