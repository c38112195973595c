// The JavaScript-driven READ reply executors and the pipes the spliced one needs.
//
// PipePool owns N pipes, each with one page of native memory for its reply header (reply.h:
// under the `patch` strategy the pipe references that memory until it is drained, so it is
// native memory owned per pipe, never a Buffer JavaScript could reuse).
//
// spliceReply(): header into the pipe (vmsplice or write), file data spliced behind it, the
// whole reply spliced into /dev/fuse in one call of exactly the header's length.
// copyReply(): pread into the caller's buffer behind a header, one write to /dev/fuse.
// Both return the data bytes sent (>= 0) or -(stage << 12 | errno) (reply.h). The caller chose
// the path and the strategy; this code only executes, and on any failure leaves the pipe
// empty (drained, or replaced) so it is never reused dirty.
#include "common.h"
#include "reply.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

namespace splicefs {
namespace {

class PipePool : public Napi::ObjectWrap<PipePool> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PipePool",
                       {InstanceMethod("spliceReply", &PipePool::SpliceReply),
                        InstanceMethod("close", &PipePool::Close),
                        InstanceAccessor("count", &PipePool::Count, nullptr),
                        InstanceAccessor("pipeBytes", &PipePool::PipeBytes, nullptr),
                        InstanceAccessor("sizeError", &PipePool::SizeError, nullptr)});
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
      int err = OpenPipe(p, requested_);
      if (p.rfd < 0) {
        Napi::Error::New(info.Env(), std::string("pipe2: ") + strerror(-err)).ThrowAsJavaScriptException();
        return;
      }
      if (err < 0) sizeError_ = -err;
      pipeBytes_ = p.bytes;
    }
  }

  ~PipePool() override { Release(); }

 private:
  // spliceReply(index, devfd, unique, filefd, offset, size, strategy, expected)
  Napi::Value SpliceReply(const Napi::CallbackInfo& info) {
    size_t index = static_cast<size_t>(ArgInt(info, 0));
    if (index >= pipes_.size()) return Result(info.Env(), Fail(kStagePipe, EBADF));
    double r = SpliceOne(pipes_[index], devnull_, requested_, ArgInt(info, 1),
                         static_cast<uint64_t>(ArgI64(info, 2)), ArgInt(info, 3), ArgI64(info, 4),
                         static_cast<size_t>(ArgI64(info, 5)), ArgInt(info, 6),
                         static_cast<size_t>(ArgI64(info, 7)));
    return Result(info.Env(), r);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    for (auto& p : pipes_) ClosePipe(p);
    pipes_.clear();
    if (devnull_ >= 0) close(devnull_);
    devnull_ = -1;
  }

  Napi::Value Count(const Napi::CallbackInfo& info) { return Result(info.Env(), pipes_.size()); }
  Napi::Value PipeBytes(const Napi::CallbackInfo& info) { return Result(info.Env(), pipeBytes_); }
  Napi::Value SizeError(const Napi::CallbackInfo& info) { return Result(info.Env(), sizeError_); }

  std::vector<Pipe> pipes_;
  int requested_ = 0;
  int pipeBytes_ = 0;
  int sizeError_ = 0;
  int devnull_ = -1;
};

// copyReply(devfd, unique, filefd, offset, size, buffer): buffer holds 16 + size bytes.
Napi::Value CopyReply(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 5);
  double r = CopyOne(ArgInt(info, 0), static_cast<uint64_t>(ArgI64(info, 1)), ArgInt(info, 2),
                     ArgI64(info, 3), static_cast<size_t>(ArgI64(info, 4)), b.data, b.length);
  return Result(info.Env(), r);
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
