// The READ executor as JavaScript sees it, and the enumerations TypeScript reads its plans and
// counters by:
//
//   ReadCounters   one block of counters per session (reply.h ReadCounters), shared by the
//                  event loop's executor and every worker thread; snapshot(out) copies it.
//   ReadExecutor   the event loop's executor: owns one pipe with its native header page,
//                  /dev/null and a copy buffer, and runs reply.cc ExecuteRead, the same routine
//                  the worker threads run.
//   constants      plan fields, paths, header modes, failure stages, counter names: written
//                  down once, in C++ (reply.h, workers.cc), and never mirrored by hand.
//   probeVmspliceAlias()  whether the `patch` header mode is correct on this kernel.
#include "executor.h"
#include "served.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <limits>

namespace splicefs {
namespace {

// Marks a JavaScript object as one of our ReadCounters, so that ArgCounters never unwraps
// another class's native pointer as a counter block.
const napi_type_tag kReadCountersTag = {0x73706c6963656673ULL, 0x5265616443746e73ULL};

class ReadCountersObject : public Napi::ObjectWrap<ReadCountersObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ReadCounters", {InstanceMethod("snapshot", &ReadCountersObject::Snapshot)});
  }

  explicit ReadCountersObject(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ReadCountersObject>(info), block_(std::make_shared<ReadCounters>()) {
    info.This().As<Napi::Object>().TypeTag(&kReadCountersTag);
  }

  const std::shared_ptr<ReadCounters>& block() const { return block_; }

 private:
  // snapshot(out: Float64Array(constants.readCounters.length))
  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    auto out = ArgTyped<double>(info, 0, kReadCounters, "snapshot(out)");
    for (size_t i = 0; i < kReadCounters; i++)
      out[i] = static_cast<double>(block_->v[i].load(std::memory_order_relaxed));
    return info.Env().Undefined();
  }

  // Shared: worker threads keep counting into it while JavaScript holds this object or not.
  std::shared_ptr<ReadCounters> block_;
};

class ReadExecutorObject : public Napi::ObjectWrap<ReadExecutorObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ReadExecutor",
                       {InstanceMethod("read", &ReadExecutorObject::Read),
                        InstanceMethod("close", &ReadExecutorObject::Close),
                        InstanceAccessor("pipeBytes", &ReadExecutorObject::PipeBytes, nullptr),
                        InstanceAccessor("sizeError", &ReadExecutorObject::SizeError, nullptr),
                        InstanceAccessor("lastPath", &ReadExecutorObject::LastPath, nullptr)});
  }

  // new ReadExecutor(counters, pipeBytes, maxRead): pipeBytes 0 = no pipe (copy only), else
  // what F_SETPIPE_SZ is asked for; a refusal leaves the default size and says so in sizeError.
  explicit ReadExecutorObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReadExecutorObject>(info) {
    counters_ = ArgCounters(info, 0);
    int pipeBytes = ArgInt(info, 1);
    int64_t maxRead = ArgI64(info, 2);
    if (pipeBytes < 0 || maxRead < 0 || maxRead > (1 << 30))
      throw Napi::RangeError::New(info.Env(), "ReadExecutor: pipeBytes >= 0, 0 <= maxRead <= 1 GiB");
    // A constructor has no number to return: an executor without /dev/null or its pipe is
    // reported as an exception, as the pipe pool before it was.
    int err = OpenExecutor(st_, pipeBytes, static_cast<size_t>(maxRead));
    if (err < 0) {
      CloseExecutor(st_);
      throw Napi::Error::New(info.Env(), std::string("ReadExecutor: ") + strerror(-err));
    }
    open_ = true;
  }

  ~ReadExecutorObject() override { CloseExecutor(st_); }

 private:
  // read(devfd, unique: bigint, plan: Int32Array, offset: bigint, size) -> data bytes sent or
  // -(stage << 12 | errno).
  Napi::Value Read(const Napi::CallbackInfo& info) {
    if (!open_) throw Napi::Error::New(info.Env(), "ReadExecutor: read after close()");
    int devfd = ArgInt(info, 0);
    uint64_t unique = ArgBigU64(info, 1, "unique");
    ReadPlan plan = ArgPlan(info, 2);
    uint64_t offset = ArgBigU64(info, 3, "offset");
    // A file offset is a loff_t: the kernel never sends one past 2^63 - 1.
    if (offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Napi::RangeError::New(info.Env(), "offset must be below 2^63");
    uint32_t size = ArgU32(info, 4);
    return Napi::Number::New(info.Env(), ExecuteRead(plan, st_, devfd, unique, offset, size, *counters_));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseExecutor(st_);
    open_ = false;
    return info.Env().Undefined();
  }

  Napi::Value PipeBytes(const Napi::CallbackInfo& info) {
    return Result(info.Env(), st_.pipeBytes == 0 ? 0 : st_.pipe.bytes);
  }
  Napi::Value SizeError(const Napi::CallbackInfo& info) { return Result(info.Env(), st_.sizeError); }
  // The path (constants.readPath) the last read() took: splice, or copy (a small READ included).
  Napi::Value LastPath(const Napi::CallbackInfo& info) { return Result(info.Env(), st_.lastPath); }

  std::shared_ptr<ReadCounters> counters_;
  ExecutorState st_;
  bool open_ = false;
};

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

Napi::Array Names(Napi::Env env, const char* const* names, size_t n) {
  Napi::Array a = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) a.Set(static_cast<uint32_t>(i), names[i]);
  a.Freeze();
  return a;
}

Napi::Object Enum(Napi::Env env, std::initializer_list<std::pair<const char*, int>> members) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& m : members) o.Set(m.first, m.second);
  o.Freeze();
  return o;
}

// addon.constants, frozen: TypeScript reads these and never writes its own copy.
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("planFields", Names(env, kPlanFieldNames, kPlanFields));
  c.Set("readPath", Enum(env, {{"SPLICE", kPathSplice}, {"COPY", kPathCopy}}));
  c.Set("header", Enum(env, {{"PATCH", kHeaderPatch}, {"WRITE", kHeaderWrite}}));
  c.Set("countAs", Enum(env, {{"NONE", kCountNone}, {"NO_SPLICE", kCountNoSplice}}));
  c.Set("stage", Enum(env, {{"FILE", kStageFile},
                            {"DEVICE", kStageDevice},
                            {"SHORT", kStageShort},
                            {"PIPE_FULL", kStagePipeFull},
                            {"HEADER", kStageHeader},
                            {"PIPE", kStagePipe},
                            {"PIPE_TOO_SMALL", kStagePipeTooSmall}}));
  c.Set("readCounters", Names(env, kReadCounterNames, kReadCounters));
  c.Set("workerCounters", Names(env, kWorkerCounterNames, kWorkerCounterCount));
  c.Set("servedFields", Names(env, kServedFieldNames, kServedFields));
  c.Freeze();
  return c;
}

}  // namespace

ReadPlan ArgPlan(const Napi::CallbackInfo& info, size_t i) {
  auto a = ArgTyped<int32_t>(info, i, kPlanFields, "plan");
  ReadPlan plan;
  if (!PlanFromFields(a.Data(), &plan))
    throw Napi::RangeError::New(info.Env(), "plan: path, header and countAs 0 or 1; spliceMin and maxSize >= 0");
  return plan;
}

std::shared_ptr<ReadCounters> ArgCounters(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsObject()) {
    Napi::Object o = info[i].As<Napi::Object>();
    if (o.CheckTypeTag(&kReadCountersTag)) return ReadCountersObject::Unwrap(o)->block();
  }
  throw Napi::TypeError::New(info.Env(), "expected a ReadCounters");
}

void InitExecutor(Napi::Env env, Napi::Object exports) {
  exports.Set("ReadCounters", ReadCountersObject::Define(env));
  exports.Set("ReadExecutor", ReadExecutorObject::Define(env));
  exports.Set("probeVmspliceAlias", Napi::Function::New(env, ProbeVmspliceAlias));
  exports.Set("constants", Constants(env));
}

}  // namespace splicefs
