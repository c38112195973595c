// THE READ executor (see reply.h): ExecuteRead applies a plan's numbers and sends the reply by
// SpliceOne or CopyOne. It decides nothing beyond keeping its pipe clean.
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
  size_t want = strategy == kHeaderPatch ? size : (expected < size ? expected : size);
  h->len = static_cast<uint32_t>(sizeof(fuse_out_header) + want);

  ssize_t hn;
  if (int e = TakeFault(kFaultHeader)) {
    hn = -1;
    errno = e;
  } else if (strategy == kHeaderPatch) {
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
  if (strategy == kHeaderWrite) {
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

bool PlanFromFields(const int32_t* f, ReadPlan* out) {
  auto oneOf01 = [](int32_t v) { return v == 0 || v == 1; };
  if (!oneOf01(f[kPlanPath]) || !oneOf01(f[kPlanHeader]) || !oneOf01(f[kPlanCountAs]) ||
      f[kPlanWrite] < kWriteHandOver || f[kPlanWrite] > kWriteSplice)
    return false;
  if (f[kPlanSpliceMin] < 0 || f[kPlanMaxSize] < 0) return false;
  out->fd = f[kPlanFd];
  out->path = f[kPlanPath];
  out->header = f[kPlanHeader];
  out->spliceMin = static_cast<uint32_t>(f[kPlanSpliceMin]);
  out->maxSize = static_cast<uint32_t>(f[kPlanMaxSize]);
  out->countAs = f[kPlanCountAs];
  out->write = f[kPlanWrite];
  return true;
}

int OpenExecutor(ExecutorState& st, int pipeBytes, size_t maxRead) {
  st.pipeBytes = pipeBytes > 0 ? pipeBytes : 0;
  st.sizeError = 0;
  st.copybuf.assign(sizeof(fuse_out_header) + maxRead, 0);
  st.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (st.devnull < 0) return -errno;
  if (st.pipeBytes == 0) return 0;
  int err = OpenPipe(st.pipe, st.pipeBytes);
  if (st.pipe.rfd < 0) return err < 0 ? err : -EBADF;
  if (err < 0) st.sizeError = -err;
  return 0;
}

void CloseExecutor(ExecutorState& st) {
  ClosePipe(st.pipe);
  if (st.devnull >= 0) close(st.devnull);
  st.devnull = -1;
  std::vector<uint8_t>().swap(st.copybuf);
}

// The splice half of ExecuteRead: the pipe checks the plan implies, then SpliceOne.
static double SplicePlanned(const ReadPlan& plan, ExecutorState& st, int devfd, uint64_t unique, int64_t off,
                            size_t size, ReadCounters& c) {
  // A copy-only executor has no pipe: zero slots, so the reply does not fit (nothing tried).
  if (st.pipeBytes == 0) return Fail(kStagePipeTooSmall, 0);
  if (int e = EnsurePipe(st.pipe, st.pipeBytes)) return Fail(kStagePipe, -e);
  if (SlotsNeeded(static_cast<uint64_t>(off), size) > PipeSlots(st.pipe)) return Fail(kStagePipeTooSmall, 0);
  size_t expected = size;
  if (plan.header == kHeaderWrite) {
    // The written header is a copy in the pipe, so its length must be right before the data
    // is there: announce what the file holds now; a change under us is caught as kStageShort.
    struct stat sb;
    if (fstat(plan.fd, &sb) < 0) return Fail(kStageFile, errno);
    expected = sb.st_size > off ? static_cast<size_t>(sb.st_size - off) : 0;
    if (expected > size) expected = size;
  }
  Tally tally{&c.v[kSpliceReplies], &c.v[kSpliceBytes], nullptr};
  return SpliceOne(st.pipe, st.devnull, st.pipeBytes, devfd, unique, plan.fd, off, size, plan.header, expected,
                   &tally);
}

double ExecuteRead(const ReadPlan& plan, ExecutorState& st, int devfd, uint64_t unique, uint64_t offset,
                   uint32_t size, ReadCounters& c) {
  if (size > plan.maxSize) size = plan.maxSize;
  // The kernel's READ offsets are loff_t (below 2^63); the JavaScript entry checks its own.
  const int64_t off = static_cast<int64_t>(offset);
  const bool small = plan.path == kPathSplice && size < plan.spliceMin;
  const bool splice = plan.path == kPathSplice && !small;
  st.lastPath = splice ? kPathSplice : kPathCopy;
  double r;
  if (splice) {
    r = SplicePlanned(plan, st, devfd, unique, off, size, c);
  } else {
    std::atomic<uint64_t>* extra = small                            ? &c.v[kSmallCopies]
                                   : plan.countAs == kCountNoSplice ? &c.v[kNoSpliceCopies]
                                                                    : nullptr;
    Tally tally{&c.v[kCopyReplies], &c.v[kCopyBytes], extra};
    r = CopyOne(devfd, unique, plan.fd, off, size, st.copybuf.data(), st.copybuf.size(), &tally);
  }
  if (r < 0 && FailStage(r) == kStageDevice && FailErrno(r) == ENOENT)
    c.v[kInterrupted].fetch_add(1, std::memory_order_relaxed);
  return r;
}

}  // namespace splicefs
