// The two READ reply executors and the pipes the spliced one needs.
//
// PipePool owns N pipes, each with one page of native memory for its reply header. The header
// memory must stay put until the pipe is drained into /dev/fuse, because with the `patch`
// strategy the pipe holds a reference to it (vmsplice), not a copy: that is why it is native
// memory owned per pipe and never a Buffer JavaScript could reuse.
//
// spliceReply(): header into the pipe (vmsplice or write), file data spliced behind it, the
// whole reply spliced into /dev/fuse in one call of exactly the header's length. The caller
// chose this path and the strategy; this code only executes, and on any failure leaves the
// pipe empty (drained, or replaced) so it is never reused dirty.
//
// copyReply(): pread into the caller's buffer behind a header, one write to /dev/fuse.
//
// Both return the data bytes sent (>= 0) or -(stage << 12 | errno), stages below.
#include "common.h"

#include <fcntl.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

namespace splicefs {
namespace {

enum Stage {
  kStageFile = 1,      // reading the backing file failed (errno)
  kStageDevice = 2,    // writing the reply into /dev/fuse failed (errno: ENOENT = interrupted)
  kStageShort = 3,     // `write` strategy: data shorter than the header announced; nothing sent
  kStagePipeFull = 4,  // the pipe had no room for the data (slots); nothing sent
  kStageHeader = 5,    // putting the header into the pipe failed (errno)
  kStagePipe = 6,      // the pipe could not be emptied or recreated (errno)
};

inline double Fail(int stage, int err) { return -static_cast<double>((stage << 12) | (err & 0xfff)); }

struct Pipe {
  int rfd = -1;
  int wfd = -1;
  fuse_out_header* header = nullptr;  // one page, page-aligned, owned here
};

int OpenPipe(Pipe& p, int bytes, int* granted) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
  p.rfd = fds[0];
  p.wfd = fds[1];
  int err = 0;
  if (bytes > 0 && fcntl(p.wfd, F_SETPIPE_SZ, bytes) < 0) err = -errno;
  *granted = fcntl(p.wfd, F_GETPIPE_SZ);
  return err;
}

void ClosePipe(Pipe& p) {
  if (p.rfd >= 0) close(p.rfd);
  if (p.wfd >= 0) close(p.wfd);
  p.rfd = p.wfd = -1;
}

class PipePool : public Napi::ObjectWrap<PipePool> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PipePool",
                       {InstanceMethod("spliceReply", &PipePool::SpliceReply),
                        InstanceMethod("close", &PipePool::Close),
                        InstanceAccessor("count", &PipePool::Count, nullptr),
                        InstanceAccessor("pipeBytes", &PipePool::PipeBytes, nullptr),
                        InstanceAccessor("sizeError", &PipePool::SizeError, nullptr),
                        InstanceAccessor("resets", &PipePool::Resets, nullptr)});
  }

  // new PipePool(count, bytes): bytes is what F_SETPIPE_SZ is asked for (0 = leave default).
  // If the kernel refuses (EPERM past pipe-max-size), the pipes keep their default size and
  // sizeError says why; pipeBytes is always what the pipes really hold.
  explicit PipePool(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipePool>(info) {
    int count = ArgInt(info, 0);
    requested_ = ArgInt(info, 1);
    devnull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pipes_.resize(count > 0 ? count : 1);
    for (auto& p : pipes_) {
      void* mem = nullptr;
      if (posix_memalign(&mem, 4096, 4096) != 0) {
        Napi::Error::New(info.Env(), "out of memory").ThrowAsJavaScriptException();
        return;
      }
      memset(mem, 0, 4096);
      p.header = static_cast<fuse_out_header*>(mem);
      int granted = 0;
      int err = OpenPipe(p, requested_, &granted);
      if (p.rfd < 0) {
        Napi::Error::New(info.Env(), std::string("pipe2: ") + strerror(-err))
            .ThrowAsJavaScriptException();
        return;
      }
      if (err < 0) sizeError_ = -err;
      pipeBytes_ = granted;
    }
  }

  ~PipePool() override { Release(); }

 private:
  // Empty a pipe after a failure. Splicing to /dev/null moves page references, no copies. If
  // that fails the pipe is replaced, so a dirty pipe is never handed out again.
  int Drain(Pipe& p) {
    for (;;) {
      ssize_t n = splice(p.rfd, nullptr, devnull_, nullptr, 1 << 30, SPLICE_F_NONBLOCK);
      if (n > 0) continue;
      if (n == 0 || errno == EAGAIN) return 0;
      if (errno == EINTR) continue;
      break;
    }
    resets_++;
    ClosePipe(p);
    int granted = 0;
    int err = OpenPipe(p, requested_, &granted);
    return p.rfd < 0 ? err : 0;
  }

  double Drained(Pipe& p, int stage, int err) {
    int r = Drain(p);
    if (r < 0) return Fail(kStagePipe, -r);
    return Fail(stage, err);
  }

  // spliceReply(index, devfd, unique, filefd, offset, size, strategy, expected)
  //   strategy 0 = patch: vmsplice the header, splice data, write the real length into the
  //                header memory the pipe references, splice the reply out.
  //   strategy 1 = write: write() a header announcing `expected` data bytes (a copy in the
  //                pipe); if the data comes short, drain and report kStageShort.
  Napi::Value SpliceReply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t index = static_cast<size_t>(ArgInt(info, 0));
    int devfd = ArgInt(info, 1);
    uint64_t unique = static_cast<uint64_t>(ArgI64(info, 2));
    int filefd = ArgInt(info, 3);
    loff_t offset = static_cast<loff_t>(ArgI64(info, 4));
    size_t size = static_cast<size_t>(ArgI64(info, 5));
    int strategy = ArgInt(info, 6);
    size_t expected = static_cast<size_t>(ArgI64(info, 7));
    if (index >= pipes_.size() || pipes_[index].rfd < 0) return Result(env, Fail(kStagePipe, EBADF));
    Pipe& p = pipes_[index];
    fuse_out_header* h = p.header;
    h->error = 0;
    h->unique = unique;
    size_t want = strategy == 0 ? size : (expected < size ? expected : size);
    h->len = static_cast<uint32_t>(sizeof(fuse_out_header) + want);

    ssize_t hn;
    if (strategy == 0) {
      struct iovec iov = {h, sizeof(fuse_out_header)};
      hn = vmsplice(p.wfd, &iov, 1, SPLICE_F_NONBLOCK);
    } else {
      hn = write(p.wfd, h, sizeof(fuse_out_header));
    }
    if (hn != static_cast<ssize_t>(sizeof(fuse_out_header)))
      return Result(env, Drained(p, kStageHeader, hn < 0 ? errno : EIO));

    size_t got = 0;
    while (got < want) {
      ssize_t n = splice(filefd, &offset, p.wfd, nullptr, want - got, SPLICE_F_NONBLOCK);
      if (n > 0) {
        got += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) break;  // end of file
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Result(env, Drained(p, kStagePipeFull, EAGAIN));
      return Result(env, Drained(p, kStageFile, errno));
    }
    if (strategy == 1 && got != want) return Result(env, Drained(p, kStageShort, EIO));
    // The header must match the bytes really in the pipe: for `patch` this store is what the
    // kernel reads, since the pipe references this memory.
    h->len = static_cast<uint32_t>(sizeof(fuse_out_header) + got);
    size_t total = h->len;
    ssize_t out = splice(p.rfd, nullptr, devfd, nullptr, total, SPLICE_F_NONBLOCK);
    if (out != static_cast<ssize_t>(total)) {
      return Result(env, Drained(p, kStageDevice, out < 0 ? errno : EIO));
    }
    return Result(env, static_cast<double>(got));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    for (auto& p : pipes_) {
      ClosePipe(p);
      free(p.header);
      p.header = nullptr;
    }
    pipes_.clear();
    if (devnull_ >= 0) close(devnull_);
    devnull_ = -1;
  }

  Napi::Value Count(const Napi::CallbackInfo& info) { return Result(info.Env(), pipes_.size()); }
  Napi::Value PipeBytes(const Napi::CallbackInfo& info) { return Result(info.Env(), pipeBytes_); }
  Napi::Value SizeError(const Napi::CallbackInfo& info) { return Result(info.Env(), sizeError_); }
  Napi::Value Resets(const Napi::CallbackInfo& info) { return Result(info.Env(), resets_); }

  std::vector<Pipe> pipes_;
  int requested_ = 0;
  int pipeBytes_ = 0;
  int sizeError_ = 0;
  double resets_ = 0;
  int devnull_ = -1;
};

// copyReply(devfd, unique, filefd, offset, size, buffer): pread into buffer[16, 16 + size),
// header in buffer[0, 16), one write to /dev/fuse. buffer must hold 16 + size bytes.
Napi::Value CopyReply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int devfd = ArgInt(info, 0);
  uint64_t unique = static_cast<uint64_t>(ArgI64(info, 1));
  int filefd = ArgInt(info, 2);
  off_t offset = static_cast<off_t>(ArgI64(info, 3));
  size_t size = static_cast<size_t>(ArgI64(info, 4));
  Bytes b = ArgBytes(info, 5);
  const size_t hs = sizeof(fuse_out_header);
  if (b.length < hs) return Result(env, Fail(kStageFile, EINVAL));
  if (size > b.length - hs) size = b.length - hs;
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(filefd, b.data + hs + got, size - got, offset + static_cast<off_t>(got));
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    return Result(env, Fail(kStageFile, errno));
  }
  auto* h = reinterpret_cast<fuse_out_header*>(b.data);
  h->len = static_cast<uint32_t>(hs + got);
  h->error = 0;
  h->unique = unique;
  ssize_t out = write(devfd, b.data, hs + got);
  if (out != static_cast<ssize_t>(hs + got)) return Result(env, Fail(kStageDevice, out < 0 ? errno : EIO));
  return Result(env, static_cast<double>(got));
}

// probeVmspliceAlias(): does vmsplice hand the pipe a reference to our memory (1) or a copy
// (0)? The `patch` header strategy is only correct where it is a reference. -errno on failure.
Napi::Value ProbeVmspliceAlias(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return Errno(env);
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, 4096) != 0) {
    close(fds[0]);
    close(fds[1]);
    return Result(env, -ENOMEM);
  }
  auto* page = static_cast<unsigned char*>(mem);
  memset(page, 'A', 64);
  struct iovec iov = {page, 64};
  double result;
  if (vmsplice(fds[1], &iov, 1, SPLICE_F_NONBLOCK) != 64) {
    result = -errno;
  } else {
    memset(page, 'B', 64);  // after the pipe took it: a reference sees this, a copy does not
    unsigned char back[64];
    ssize_t n = read(fds[0], back, sizeof back);
    result = n != 64 ? -EIO : (back[0] == 'B' && back[63] == 'B' ? 1 : 0);
  }
  close(fds[0]);
  close(fds[1]);
  free(mem);
  return Result(env, result);
}

}  // namespace

void InitSplice(Napi::Env env, Napi::Object exports) {
  exports.Set("PipePool", PipePool::Define(env));
  exports.Set("copyReply", Napi::Function::New(env, CopyReply));
  exports.Set("probeVmspliceAlias", Napi::Function::New(env, ProbeVmspliceAlias));
}

}  // namespace splicefs
