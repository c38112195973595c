// Worker threads: several readers of the FUSE connection (cloned /dev/fuse fds), and the
// hand-over of the requests they do not answer themselves to the event loop. Threads and the
// hand-over queue only: a READ is answered by reply.cc ExecuteRead, the one executor.
//
// What the threads decide: nothing. TypeScript registers a plan per open file handle
// (reply.h); a worker executes a READ of a registered handle by it, and a WRITE, FSYNC or
// FALLOCATE when the plan says the handle's writes are served here (write.h), and the GETXATTR of
// security.capability that precedes a write, on a handle's fd of its node (plans.h). Everything else
// (and a READ whose plan failed before anything reached the device, with the failure code) goes
// to the event loop, and TypeScript decides. So a slow backing read blocks one worker, never
// the event loop.
//
// Zero-copy hand-over (handover.h): a worker reads each request into a native buffer ("slot",
// exposed to JavaScript once as an external Buffer) and hands it over by index; JavaScript
// take()s, dispatches and release()s it; a uv_async wakes the event loop. take() also reports
// the fd to reply on (each cloned fd has its own processing list).
//
// With the log at debug level, a worker also leaves a record of each READ it served (served.h)
// and wakes the event loop to print it: those requests never reach JavaScript otherwise.
//
// Parked (park.h): a worker notices the park after the read it is in returns (no signal: one
// could interrupt a backing read it is executing), so for a moment it may take a request as before.
// With spinUs 0 workers block in read(2) (the kernel wakes one reader per request; poll would
// wake them all); stopping one no request will wake takes kWakeSignal (spin.h).
#include "common.h"
#include "executor.h"
#include "faults.h"
#include "handover.h"
#include "park.h"
#include "plans.h"
#include "reply.h"
#include "served.h"
#include "spin.h"
#include "write.h"

#include <string.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace splicefs {

// Transport counters (the READ counters are the session's ReadCounters).
enum WorkerCounter {
  kForwarded,   // requests handed over to the event loop
  kSpinHits,    // waits ended by a request while spinning
  kSpinMisses,  // spins that ran out (then the worker slept)
  kAnswered,    // requests a worker answered itself (read, or submitted); counted after the reply
  kJobs,        // requests the event loop passed to a worker (submit), while parked
  kWorkerCounters
};
const char* const kWorkerCounterNames[] = {"forwarded", "spinHits", "spinMisses", "answered", "jobs"};
const size_t kWorkerCounterCount = kWorkerCounters;
static_assert(sizeof(kWorkerCounterNames) / sizeof(kWorkerCounterNames[0]) == kWorkerCounters, "a name per counter");

namespace {

class Workers : public Napi::ObjectWrap<Workers> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Workers",
                       {InstanceMethod("register", &Workers::Register),
                        InstanceMethod("unregister", &Workers::Unregister),
                        InstanceMethod("take", &Workers::Take),
                        InstanceMethod("release", &Workers::Release),
                        InstanceMethod("counters", &Workers::Counters),
                        InstanceMethod("takeServed", &Workers::TakeServed),
                        InstanceMethod("stop", &Workers::Stop),
                        InstanceMethod("park", &Workers::Park),
                        InstanceMethod("submit", &Workers::Submit),
                        InstanceAccessor("slots", &Workers::Slots, nullptr),
                        InstanceAccessor("threads", &Workers::Threads, nullptr),
                        InstanceAccessor("pipeBytes", &Workers::PipeBytes, nullptr)});
  }

  // new Workers(masterFd, threads, pipeBytes, maxRead, requestBufferSize, slots, counters,
  //             onWake(ended, endErrno), spinUs, servedCapacity, spliceRequestBytes, splicing). pipeBytes
  // 0: no pipes. servedCapacity > 0: record each READ served here for the debug log (served.h).
  // spliceRequestBytes > 0: requests may be read by splice while the pipe holds that many bytes;
  // splicing: [mode, largeWrite, enter, cap] of write.h RequestSplicing (absent: splice them all).
  explicit Workers(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Workers>(info) {
    Napi::Env env = info.Env();
    int master = ArgInt(info, 0);
    int n = ArgInt(info, 1);
    pipeBytes_ = ArgInt(info, 2);
    int64_t maxRead = ArgI64(info, 3), reqSize = ArgI64(info, 4), slots = ArgI64(info, 5);
    readCounters_ = ArgCounters(info, 6);
    if (!info[7].IsFunction()) throw Napi::TypeError::New(env, "Workers: onWake must be a function");
    spinUs_ = info.Length() > 8 && !info[8].IsUndefined() ? ArgInt(info, 8) : 0;
    int64_t servedCap = info.Length() > 9 && !info[9].IsUndefined() ? ArgI64(info, 9) : 0;
    int64_t spliceMin = info.Length() > 10 && !info[10].IsUndefined() ? ArgI64(info, 10) : 0;
    const int64_t kGiB = 1 << 30;
    if (n < 1 || n > 1024 || pipeBytes_ < 0 || maxRead < 0 || maxRead > kGiB || spinUs_ < 0 ||
        reqSize < static_cast<int64_t>(sizeof(fuse_in_header) + sizeof(fuse_read_in)) || reqSize > kGiB ||
        slots < 1 || slots > 65536 || servedCap < 0 || servedCap > 65536 || spliceMin < 0 || spliceMin > kGiB)
      throw Napi::RangeError::New(env, "Workers: an argument is out of range");
    maxRead_ = static_cast<size_t>(maxRead);
    splicing_.minPipeBytes = pipeBytes_ > 0 ? static_cast<size_t>(spliceMin) : 0;
    splicing_.mode = splicing_.minPipeBytes > 0 ? RequestSplicing::kSpliceAlways : RequestSplicing::kSpliceNever;
    if (splicing_.minPipeBytes > 0 && info.Length() > 11 && !info[11].IsUndefined()) {
      auto p = ArgTyped<double>(info, 11, 4, "Workers(splicing)");
      if (p[0] < 0 || p[0] > 2 || p[1] < 0 || p[1] > kGiB || p[2] < 1 || p[3] < p[2] || p[3] > 1024)
        throw Napi::RangeError::New(env, "Workers: splicing is out of range");
      splicing_.mode = static_cast<int>(p[0]);
      splicing_.largeWrite = static_cast<size_t>(p[1]);
      splicing_.enter = static_cast<int>(p[2]);
      splicing_.cap = static_cast<int>(p[3]);
    }
    for (auto& c : counters_) c.store(0);

    mem_ = std::make_shared<SlotMemory>(static_cast<size_t>(slots), static_cast<size_t>(reqSize));
    if (!mem_->ok()) throw Napi::Error::New(env, "Workers: cannot allocate the request slots");
    handover_ = std::make_unique<HandOver>(static_cast<size_t>(slots));
    if (servedCap > 0) served_ = std::make_unique<ServedLog>(static_cast<size_t>(servedCap));
    slots_ = Napi::Persistent(SlotBuffers(env));
    onWake_ = Napi::Persistent(info[7].As<Napi::Function>());

    // Measure the pipe size the threads will get, so plans can be checked against it.
    if (pipeBytes_ > 0) {
      Pipe probe;
      OpenPipe(probe, pipeBytes_);
      grantedPipeBytes_ = probe.rfd >= 0 ? probe.bytes : 0;
      ClosePipe(probe);
    }

    InstallWakeHandler();
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    async_ = new uv_async_t;
    async_->data = this;
    uv_async_init(loop, async_, &Workers::OnAsync);

    master_ = master;
    std::string err = spinUs_ > 0 && !bell_.Open() ? std::string("eventfd: ") + strerror(errno) : CloneFds(master, n);
    if (!err.empty()) {
      Shutdown();
      throw Napi::Error::New(env, err);
    }
    live_.store(n);
    exited_ = std::vector<std::atomic<bool>>(n);
    for (int i = 0; i < n; i++) exited_[i].store(false);
    for (int i = 0; i < n; i++) threads_.emplace_back(&Workers::Run, this, i);
  }

  ~Workers() override { Shutdown(); }

 private:
  // One /dev/fuse fd per thread, cloned from the master: blocking (see the top of this file),
  // unless workers spin before sleeping. "" or what went wrong.
  std::string CloneFds(int master, int n) {
    for (int i = 0; i < n; i++) {
      int fd = CloneDevice(master, spinUs_ > 0);
      if (fd < 0) return std::string("cannot clone /dev/fuse: ") + strerror(errno);
      fds_.push_back(fd);
    }
    return "";
  }

  // The slots as external Buffers, made once: each keeps the memory alive (SlotMemory).
  Napi::Array SlotBuffers(Napi::Env env) {
    Napi::Array a = Napi::Array::New(env, mem_->bufs.size());
    for (size_t i = 0; i < mem_->bufs.size(); i++) {
      auto keep = std::make_unique<std::shared_ptr<SlotMemory>>(mem_);
      auto b = Napi::Buffer<uint8_t>::New(
          env, mem_->bufs[i], mem_->size, [](Napi::Env, uint8_t*, std::shared_ptr<SlotMemory>* k) { delete k; },
          keep.get());
      keep.release();  // the Buffer's finalizer owns it now
      a.Set(static_cast<uint32_t>(i), b);
    }
    a.Freeze();
    return a;
  }

  // ---- worker threads ------------------------------------------------------------------

  void Run(int index) {
    const int fd = fds_[index];
    // Only the wake signal may interrupt this thread; everything else stays with the main one.
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, kWakeSignal);
    pthread_sigmask(SIG_SETMASK, &set, nullptr);
    ExecutorState st;
    OpenExecutor(st, pipeBytes_, maxRead_);  // a pipe that failed here is made at its first use
    Waiter waiter(fd, bell_.fd(), spinUs_, &counters_[kSpinHits], &counters_[kSpinMisses]);
    const PlanLookup lookup = [this](uint64_t fh, ReadPlan* out) { return plans_.Find(fh, out); };
    RequestSplicing how = splicing_;  // this thread's own state
    int slot = handover_->Acquire();
    while (slot >= 0 && !stopping_.load(std::memory_order_acquire)) {
      JobQueue::Job job;
      if (parked_.load(std::memory_order_acquire) || !jobs_.Empty()) {
        if (jobs_.Next(&job, [this] { return parked_.load(std::memory_order_acquire) && !stopping_.load(std::memory_order_acquire); }))
          RunJob(st, index, job);
        continue;
      }
      uint8_t* req = mem_->bufs[slot];
      ssize_t n;
      bool done = false;
      n = ReadRequest(st, fd, req, mem_->size, how, lookup, *readCounters_, &done);
      if (n < 0 && errno == EAGAIN) {
        waiter.NothingYet();
        continue;
      }
      waiter.Got();
      if (n < 0) {
        if (errno == EINTR || errno == ENOENT) continue;  // ENOENT: aborted request
        if (errno == ENODEV) handover_->Close();  // the connection is gone: all workers leave
        else endErrno_.store(errno);  // a device error: the session's end says which
        break;
      }
      if (done) {  // a WRITE spliced into its file and answered; the slot is reused
        counters_[kAnswered].fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (static_cast<size_t>(n) < sizeof(fuse_in_header)) continue;
      double failure = 0;
      if (AnsweredHere(st, fd, index, req, static_cast<size_t>(n), &failure)) {  // slot reused
        counters_[kAnswered].fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      handover_->Hand(HandOver::Item{slot, fd, static_cast<uint32_t>(n), failure});
      counters_[kForwarded].fetch_add(1, std::memory_order_relaxed);
      uv_async_send(async_);
      slot = handover_->Acquire();
    }
    CloseExecutor(st);
    exited_[index].store(true, std::memory_order_release);
    if (live_.fetch_sub(1) == 1) {
      ended_.store(true);
      uv_async_send(async_);
    }
  }

  // A submitted request, executed as if read here but answered on the master fd; its slot is
  // then freed, or handed back like any request a worker does not answer.
  void RunJob(ExecutorState& st, int index, const JobQueue::Job& job) {
    double failure = 0;
    if (job.length >= sizeof(fuse_in_header) && AnsweredHere(st, master_, index, mem_->bufs[job.slot], job.length, &failure)) {
      counters_[kAnswered].fetch_add(1, std::memory_order_relaxed);
      handover_->Free(job.slot);
      return;
    }
    handover_->Hand(HandOver::Item{job.slot, master_, job.length, failure});
    counters_[kForwarded].fetch_add(1, std::memory_order_relaxed);
    uv_async_send(async_);
  }

  // A request of a handle with a registered plan, executed here: a READ by the plan, and a
  // WRITE, FSYNC, FALLOCATE or FLUSH when the plan says so (write.h). True when the request needs
  // nothing more (a GETXATTR of security.capability likewise, write.h): replied, or the device refused the reply (interrupted, counted by the
  // executor; or the connection is gone, which the next read says). False: hand it over, with
  // *failure = the READ plan's failure code (left 0 when there was no plan to try).
  bool AnsweredHere(ExecutorState& st, int fd, int index, const uint8_t* req, size_t n, double* failure) {
    auto* in = reinterpret_cast<const fuse_in_header*>(req);
    const uint32_t op = in->opcode;
    if (op == FUSE_GETXATTR && IsCapabilityGetxattr(req, n)) {  // a node's request: on a handle's fd
      int nodeFd = plans_.DupNodeFd(in->nodeid);
      if (nodeFd < 0) return false;
      bool done = ExecuteCapabilityGetxattr(nodeFd, fd, req, n, *readCounters_);
      close(nodeFd);
      return done;
    }
    if (op != FUSE_READ && op != FUSE_WRITE && op != FUSE_FSYNC && op != FUSE_FALLOCATE && op != FUSE_FLUSH) return false;
    // Each of these bodies starts with the u64 fh.
    if (n < sizeof(fuse_in_header) + sizeof(uint64_t)) return false;
    uint64_t fh;
    memcpy(&fh, in + 1, sizeof fh);
    ReadPlan plan;
    if (!plans_.Find(fh, &plan)) return false;
    if (op != FUSE_READ) return ExecuteHandleOp(plan, fd, req, n, *readCounters_);
    if (n < sizeof(fuse_in_header) + sizeof(fuse_read_in)) return false;
    auto* ri = reinterpret_cast<const fuse_read_in*>(in + 1);
    double r = ExecuteRead(plan, st, fd, in->unique, ri->offset, ri->size, *readCounters_);
    if (r >= 0 || FailStage(r) == kStageDevice) {
      if (served_) {
        const int64_t rec[kServedFields] = {static_cast<int64_t>(in->unique), static_cast<int64_t>(in->nodeid),
                                            static_cast<int64_t>(ri->fh), static_cast<int64_t>(ri->offset),
                                            ri->size, static_cast<int64_t>(r), st.lastPath, index};
        served_->Add(rec);
        uv_async_send(async_);
      }
      return true;
    }
    *failure = r;
    return false;
  }

  // ---- JavaScript thread ---------------------------------------------------------------

  static void OnAsync(uv_async_t* handle) {
    auto* self = static_cast<Workers*>(handle->data);
    if (!self || self->onWake_.IsEmpty()) return;
    Napi::Env env = self->onWake_.Env();
    Napi::HandleScope scope(env);
    self->onWake_.MakeCallback(env.Global(), {Napi::Boolean::New(env, self->ended_.load()), Napi::Number::New(env, self->endErrno_.load())});
  }

  // register(fh, plan: Int32Array, nodeid = 0): a copy of the plan is kept (plans.h).
  Napi::Value Register(const Napi::CallbackInfo& info) {
    uint64_t nodeid = info.Length() > 2 && !info[2].IsUndefined() ? static_cast<uint64_t>(ArgI64(info, 2)) : 0;
    plans_.Set(static_cast<uint64_t>(ArgI64(info, 0)), ArgPlan(info, 1), nodeid);
    return info.Env().Undefined();
  }

  Napi::Value Unregister(const Napi::CallbackInfo& info) {
    plans_.Erase(static_cast<uint64_t>(ArgI64(info, 0)));
    return info.Env().Undefined();
  }

  // take(meta: Float64Array(3)) -> slot of the next handed-over request, or -1 when none is
  // left; meta = [length, fd to reply on, failure code or 0].
  Napi::Value Take(const Napi::CallbackInfo& info) {
    auto meta = ArgTyped<double>(info, 0, 3, "take(meta)");
    HandOver::Item item;
    if (!handover_->Take(&item)) return Result(info.Env(), -1);
    meta[0] = item.length;
    meta[1] = item.fd;
    meta[2] = item.failure;
    return Result(info.Env(), item.slot);
  }

  // release(slot): the request in it is dispatched; a worker may read into it again.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    if (!handover_->Release(ArgInt(info, 0)))
      throw Napi::RangeError::New(info.Env(), "release: not a slot taken and not yet released");
    return info.Env().Undefined();
  }

  // counters(out: Float64Array(constants.workerCounters.length))
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    auto out = ArgTyped<double>(info, 0, kWorkerCounters, "counters(out)");
    for (size_t i = 0; i < kWorkerCounters; i++) out[i] = static_cast<double>(counters_[i].load(std::memory_order_relaxed));
    return info.Env().Undefined();
  }

  // takeServed(out: BigInt64Array(n * servedFields.length), dropped: Float64Array(1)) -> records
  // moved into out (oldest first); dropped[0] = records lost since the last call. 0 when off.
  Napi::Value TakeServed(const Napi::CallbackInfo& info) {
    auto out = ArgTyped<int64_t>(info, 0, 0, "takeServed(out)");
    auto dropped = ArgTyped<double>(info, 1, 1, "takeServed(dropped)");
    uint64_t lost = 0;
    size_t n = served_ ? served_->Take(out.Data(), out.ElementLength() / kServedFields, &lost) : 0;
    dropped[0] = static_cast<double>(lost);
    return Result(info.Env(), static_cast<long long>(n));
  }

  // park(on): stop reading the device (the event loop reads it and submits) or go back to it.
  // Only where workers poll (spinUs > 0): one blocked in read(2) would need a signal (park.h).
  Napi::Value Park(const Napi::CallbackInfo& info) {
    bool on = info[0].ToBoolean().Value();
    if (on && bell_.fd() < 0) throw Napi::Error::New(info.Env(), "park: the workers block in read(2) (spinUs 0)");
    parked_.store(on, std::memory_order_release);
    bell_.Set(on);
    jobs_.WakeAll();
    return info.Env().Undefined();
  }

  // submit(buf, length) -> true when a worker will execute (a copy of) the request in
  // buf[0, length); false when no slot is free or it does not fit one.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Bytes b = ArgBytes(info, 0);
    int64_t len = ArgI64(info, 1);
    if (len < 0 || static_cast<size_t>(len) > b.length || static_cast<size_t>(len) > mem_->size || shut_)
      return Napi::Boolean::New(info.Env(), false);
    int slot = handover_->TryAcquire();
    if (slot < 0) return Napi::Boolean::New(info.Env(), false);
    memcpy(mem_->bufs[slot], b.data, static_cast<size_t>(len));
    counters_[kJobs].fetch_add(1, std::memory_order_relaxed);
    jobs_.Push(JobQueue::Job{slot, static_cast<uint32_t>(len)});
    return Napi::Boolean::New(info.Env(), true);
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Slots(const Napi::CallbackInfo& info) { return slots_.Value(); }
  Napi::Value Threads(const Napi::CallbackInfo& info) { return Result(info.Env(), threads_.size()); }
  Napi::Value PipeBytes(const Napi::CallbackInfo& info) { return Result(info.Env(), grantedPipeBytes_); }

  // Stop the threads, join them, close what they used. Idempotent. Queued requests are dropped
  // (the connection is ending). A thread waiting for a slot or a job is woken by their stop; one
  // in read(2) or poll(2) by kWakeSignal, repeated until it has left (one sent just before it
  // entered the call is lost).
  void Shutdown() {
    if (shut_) return;
    shut_ = true;
    stopping_.store(true, std::memory_order_release);
    if (handover_) handover_->Stop();
    jobs_.WakeAll();
    for (size_t i = 0; i < threads_.size(); i++) {
      while (!exited_[i].load(std::memory_order_acquire)) {
        pthread_kill(threads_[i].native_handle(), kWakeSignal);
        usleep(1000);
      }
      threads_[i].join();
    }
    for (int fd : fds_) close(fd);
    fds_.clear();
    bell_.Close();
    if (async_) {
      async_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
    if (!onWake_.IsEmpty()) onWake_.Reset();
  }

  int pipeBytes_ = 0;
  int master_ = -1;
  ParkBell bell_;  // readable while parked (spinUs > 0 only)
  std::atomic<bool> parked_{false};
  JobQueue jobs_;
  int grantedPipeBytes_ = 0;
  size_t maxRead_ = 0;
  int spinUs_ = 0;
  bool shut_ = false;
  uv_async_t* async_ = nullptr;
  Napi::FunctionReference onWake_;
  Napi::Reference<Napi::Array> slots_;
  std::shared_ptr<SlotMemory> mem_;
  RequestSplicing splicing_;  // how requests are read (write.h); each thread copies it
  std::unique_ptr<HandOver> handover_;
  std::unique_ptr<ServedLog> served_;  // null unless the debug log wants the READs served here
  std::shared_ptr<ReadCounters> readCounters_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::atomic<bool>> exited_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ended_{false};
  std::atomic<int> endErrno_{0};  // errno of a device read that made a worker leave (not ENODEV)
  std::atomic<int> live_{0};
  PlanTable plans_;
  std::atomic<uint64_t> counters_[kWorkerCounters];
};

}  // namespace

void InitWorkers(Napi::Env env, Napi::Object exports) { exports.Set("Workers", Workers::Define(env)); }

}  // namespace splicefs
