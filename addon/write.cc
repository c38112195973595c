// See write.h. The same rules as datapath/write.ts's copy path, which serves the event loop:
// a short pwrite is retried for the rest; an error after some bytes reports the bytes written;
// an error before any byte is the caller's errno.
#include "write.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

namespace splicefs {
namespace {

// Reply header + optional body in one write; true unless the device refused it for good.
bool Reply(int devfd, uint64_t unique, int error, const void* body, size_t bodyLen) {
  fuse_out_header h;
  h.len = static_cast<uint32_t>(sizeof h + (error ? 0 : bodyLen));
  h.error = error;
  h.unique = unique;
  struct iovec iov[2] = {{&h, sizeof h}, {const_cast<void*>(body), error ? 0 : bodyLen}};
  ssize_t w = writev(devfd, iov, error || bodyLen == 0 ? 1 : 2);
  // ENOENT: the request was interrupted; ENODEV: the connection is gone (the next read says so).
  return w >= 0 || errno == ENOENT || errno == ENODEV;
}

bool Write(const ReadPlan& plan, int devfd, const fuse_in_header* in, size_t n, ReadCounters& c) {
  if (n < sizeof *in + sizeof(fuse_write_in)) return false;
  auto* wi = reinterpret_cast<const fuse_write_in*>(in + 1);
  if (sizeof *in + sizeof *wi + wi->size > n) return false;  // malformed: the event loop says EINVAL
  // FUSE_HANDLE_KILLPRIV_V2 is never negotiated, so FUSE_WRITE_KILL_SUIDGID never comes; if it
  // did, the event loop would have to decide what it means.
  if (wi->write_flags & FUSE_WRITE_KILL_SUIDGID) return false;
  const uint8_t* data = reinterpret_cast<const uint8_t*>(wi + 1);
  size_t done = 0;
  int err = 0;
  while (done < wi->size) {
    ssize_t w = pwrite(plan.fd, data + done, wi->size - done, static_cast<off_t>(wi->offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (w == 0) break;
    done += static_cast<size_t>(w);
  }
  if (err && done == 0) {
    c.v[kWriteErrorReplies].fetch_add(1, std::memory_order_relaxed);
    return Reply(devfd, in->unique, -err, nullptr, 0);
  }
  fuse_write_out out;
  memset(&out, 0, sizeof out);
  out.size = static_cast<uint32_t>(done);
  // Counted before the reply goes in: the writer, woken by it, may look at once (reply.h Tally).
  c.v[kWriteCopyReplies].fetch_add(1, std::memory_order_relaxed);
  c.v[kWriteCopyBytes].fetch_add(done, std::memory_order_relaxed);
  return Reply(devfd, in->unique, 0, &out, sizeof out);
}

bool Fsync(const ReadPlan& plan, int devfd, const fuse_in_header* in, size_t n, ReadCounters& c) {
  if (n < sizeof *in + sizeof(fuse_fsync_in)) return false;
  auto* fi = reinterpret_cast<const fuse_fsync_in*>(in + 1);
  int r = (fi->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(plan.fd) : fsync(plan.fd);
  c.v[kFsyncReplies].fetch_add(1, std::memory_order_relaxed);
  return Reply(devfd, in->unique, r < 0 ? -errno : 0, nullptr, 0);
}

bool Fallocate(const ReadPlan& plan, int devfd, const fuse_in_header* in, size_t n, ReadCounters& c) {
  if (n < sizeof *in + sizeof(fuse_fallocate_in)) return false;
  auto* fa = reinterpret_cast<const fuse_fallocate_in*>(in + 1);
  int r = fallocate(plan.fd, static_cast<int>(fa->mode), static_cast<off_t>(fa->offset), static_cast<off_t>(fa->length));
  c.v[kFallocateReplies].fetch_add(1, std::memory_order_relaxed);
  return Reply(devfd, in->unique, r < 0 ? -errno : 0, nullptr, 0);
}

}  // namespace

bool ExecuteHandleOp(const ReadPlan& plan, int devfd, const uint8_t* req, size_t n, ReadCounters& counters) {
  if (plan.write != kWriteCopy) return false;
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  switch (in->opcode) {
    case FUSE_WRITE: return Write(plan, devfd, in, n, counters);
    case FUSE_FSYNC: return Fsync(plan, devfd, in, n, counters);
    case FUSE_FALLOCATE: return Fallocate(plan, devfd, in, n, counters);
    default: return false;
  }
}

}  // namespace splicefs
