// See write.h. The same rules as datapath/write.ts's copy path, which serves the event loop:
// a short pwrite is retried for the rest; an error after some bytes reports the bytes written;
// an error before any byte is the caller's errno. A write-back of the kernel's cache
// (FUSE_WRITE_CACHE) gets the errno whenever it was cut short: the kernel ignores a short count
// there, and the bytes it cached would be lost without a word.
#include "write.h"

#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <sys/stat.h>
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
  if (done < wi->size && (wi->write_flags & FUSE_WRITE_CACHE) && !err) err = EIO;
  if (err && (done == 0 || (wi->write_flags & FUSE_WRITE_CACHE))) {
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

bool Flush(const ReadPlan& plan, int devfd, const fuse_in_header* in, size_t n, ReadCounters& c) {
  if (!plan.flush || n < sizeof *in + sizeof(fuse_flush_in)) return false;
  int r = FlushFd(plan.fd);
  c.v[kFlushReplies].fetch_add(1, std::memory_order_relaxed);
  return Reply(devfd, in->unique, r, nullptr, 0);
}

bool Fallocate(const ReadPlan& plan, int devfd, const fuse_in_header* in, size_t n, ReadCounters& c) {
  if (n < sizeof *in + sizeof(fuse_fallocate_in)) return false;
  auto* fa = reinterpret_cast<const fuse_fallocate_in*>(in + 1);
  int r = fallocate(plan.fd, static_cast<int>(fa->mode), static_cast<off_t>(fa->offset), static_cast<off_t>(fa->length));
  c.v[kFallocateReplies].fetch_add(1, std::memory_order_relaxed);
  return Reply(devfd, in->unique, r < 0 ? -errno : 0, nullptr, 0);
}

// Read exactly `len` bytes out of the pipe into buf; false if it could not.
bool ReadPipe(int rfd, uint8_t* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(rfd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// The payload of a spliced-in WRITE (wi->size bytes, at the front of the pipe) into the file.
void SpliceWrite(ExecutorState& st, const ReadPlan& plan, int devfd, const fuse_in_header* in, const fuse_write_in* wi,
                 uint8_t* spare, size_t spareCap, ReadCounters& c) {
  loff_t off = static_cast<loff_t>(wi->offset);
  size_t done = 0;
  int err = 0;
  while (done < wi->size) {
    ssize_t w = splice(st.pipe.rfd, nullptr, plan.fd, &off, wi->size - done, SPLICE_F_MOVE);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (err == EINVAL && done == 0 && wi->size <= spareCap && ReadPipe(st.pipe.rfd, spare, wi->size)) {
    // The file takes no splice (no splice_write, or O_APPEND): the payload by copy from the pipe.
    c.v[kWriteSpliceFallbacks].fetch_add(1, std::memory_order_relaxed);
    err = 0;
    while (done < wi->size) {
      ssize_t w = pwrite(plan.fd, spare + done, wi->size - done, static_cast<off_t>(wi->offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        err = w < 0 ? errno : EIO;
        break;
      }
      done += static_cast<size_t>(w);
    }
  }
  // What the file did not take leaves the pipe, so the next request finds it empty.
  DrainPipe(st.pipe, st.devnull, st.pipeBytes);
  if (done < wi->size && (wi->write_flags & FUSE_WRITE_CACHE) && !err) err = EIO;
  if (err && (done == 0 || (wi->write_flags & FUSE_WRITE_CACHE))) {
    c.v[kWriteErrorReplies].fetch_add(1, std::memory_order_relaxed);
    Reply(devfd, in->unique, -err, nullptr, 0);
    return;
  }
  fuse_write_out out;
  memset(&out, 0, sizeof out);
  out.size = static_cast<uint32_t>(done);
  c.v[kWriteSpliceReplies].fetch_add(1, std::memory_order_relaxed);
  c.v[kWriteSpliceBytes].fetch_add(done, std::memory_order_relaxed);
  Reply(devfd, in->unique, 0, &out, sizeof out);
}

}  // namespace

ssize_t ReadRequest(ExecutorState& st, int devfd, uint8_t* req, size_t cap, RequestSplicing& how, const PlanLookup& lookup,
                    ReadCounters& counters, bool* done) {
  *done = false;
  if (int e = TakeFault(kFaultRequest)) {
    errno = e;
    return -1;
  }
  ssize_t n;
  if (how.Wants() && how.minPipeBytes > 0 && EnsurePipe(st.pipe, st.pipeBytes) == 0 && st.pipe.bytes > 0 &&
      static_cast<size_t>(st.pipe.bytes) >= how.minPipeBytes)
    n = ReadRequestBySplice(st, devfd, req, cap, lookup, counters, done);
  else
    n = read(devfd, req, cap);
  if (n > 0 && how.mode == RequestSplicing::kSpliceStreams) how.Saw(req, static_cast<size_t>(n), counters);
  return n;
}

void RequestSplicing::Saw(const uint8_t* req, size_t n, ReadCounters& counters) {
  // A spliced WRITE left its header and fuse_write_in in req (ReadRequestBySplice), and n is
  // the whole request's length either way.
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  bool large = false;
  if (n >= sizeof *in + sizeof(fuse_write_in) && in->opcode == FUSE_WRITE) {
    auto* wi = reinterpret_cast<const fuse_write_in*>(in + 1);
    large = wi->size >= largeWrite;
  }
  score = large ? (score + 2 < cap ? score + 2 : cap) : (score > 0 ? score - 1 : 0);
  if (!splicing && score >= enter) {
    splicing = true;
    counters.v[kWriteStreams].fetch_add(1, std::memory_order_relaxed);
  } else if (splicing && score == 0) {
    splicing = false;
    counters.v[kWriteStreamEnds].fetch_add(1, std::memory_order_relaxed);
  }
}

ssize_t ReadRequestBySplice(ExecutorState& st, int devfd, uint8_t* req, size_t cap, const PlanLookup& lookup,
                            ReadCounters& counters, bool* done) {
  *done = false;
  ssize_t n = splice(devfd, nullptr, st.pipe.wfd, nullptr, cap, 0);
  if (n <= 0) return n;
  const size_t head = sizeof(fuse_in_header) + sizeof(fuse_write_in);
  const size_t first = static_cast<size_t>(n) < head ? static_cast<size_t>(n) : head;
  if (!ReadPipe(st.pipe.rfd, req, first)) {
    DrainPipe(st.pipe, st.devnull, st.pipeBytes);
    errno = EIO;
    return -1;
  }
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  if (in->opcode == FUSE_WRITE && first == head) {
    auto* wi = reinterpret_cast<const fuse_write_in*>(in + 1);
    ReadPlan plan;
    if (head + wi->size == static_cast<size_t>(n) && lookup(wi->fh, &plan) && plan.write == kWriteSplice &&
        !(wi->write_flags & FUSE_WRITE_KILL_SUIDGID)) {
      SpliceWrite(st, plan, devfd, in, wi, req + head, cap - head, counters);
      *done = true;
      return n;
    }
  }
  // Not ours to splice: the rest of the request into the buffer, as read(2) would have put it.
  if (!ReadPipe(st.pipe.rfd, req + first, static_cast<size_t>(n) - first)) {
    DrainPipe(st.pipe, st.devnull, st.pipeBytes);
    errno = EIO;
    return -1;
  }
  return n;
}

int FlushFd(int fd) {
  if (int e = TakeFault(kFaultFlush)) return -e;
  int d = dup(fd);
  if (d < 0) return 0;
  return close(d) < 0 && errno != EINTR ? -errno : 0;
}

namespace {
constexpr char kCapability[] = "security.capability";
constexpr size_t kXattrSizeMax = 65536;  // XATTR_SIZE_MAX (linux/limits.h)
}  // namespace

bool IsCapabilityGetxattr(const uint8_t* req, size_t n) {
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  const size_t at = sizeof *in + sizeof(fuse_getxattr_in);
  return in->opcode == FUSE_GETXATTR && n >= at + sizeof kCapability && memcmp(req + at, kCapability, sizeof kCapability) == 0;
}

bool ExecuteCapabilityGetxattr(int fd, int devfd, const uint8_t* req, size_t n, ReadCounters& counters) {
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  auto* gi = reinterpret_cast<const fuse_getxattr_in*>(in + 1);
  const char* name = reinterpret_cast<const char*>(gi + 1);
  counters.v[kCapabilityGetxattrReplies].fetch_add(1, std::memory_order_relaxed);
  if (gi->size == 0) {
    ssize_t r = fgetxattr(fd, name, nullptr, 0);
    fuse_getxattr_out out;
    memset(&out, 0, sizeof out);
    out.size = static_cast<uint32_t>(r < 0 ? 0 : r);
    return Reply(devfd, in->unique, r < 0 ? -errno : 0, &out, sizeof out);
  }
  uint8_t value[kXattrSizeMax];
  ssize_t r = fgetxattr(fd, name, value, gi->size < kXattrSizeMax ? gi->size : kXattrSizeMax);
  return Reply(devfd, in->unique, r < 0 ? -errno : 0, value, r < 0 ? 0 : static_cast<size_t>(r));
}

bool ExecuteHandleOp(const ReadPlan& plan, int devfd, const uint8_t* req, size_t n, ReadCounters& counters) {
  auto* in = reinterpret_cast<const fuse_in_header*>(req);
  if (in->opcode == FUSE_FLUSH) return Flush(plan, devfd, in, n, counters);
  if (plan.write == kWriteHandOver) return false;
  switch (in->opcode) {
    case FUSE_WRITE: return Write(plan, devfd, in, n, counters);
    case FUSE_FSYNC: return Fsync(plan, devfd, in, n, counters);
    case FUSE_FALLOCATE: return Fallocate(plan, devfd, in, n, counters);
    default: return false;
  }
}

}  // namespace splicefs
