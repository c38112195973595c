// Worker threads: several readers of the FUSE connection (cloned /dev/fuse fds), each able to
// execute a READ reply end to end for a file handle TypeScript has registered a plan for.
//
// What the threads decide: nothing. TypeScript registers, per open file handle, "this fd, by
// splice (with this header strategy) or by copy". A worker that reads a READ for a registered
// handle executes that plan (reply.h). Everything else (every other opcode, READs of unknown
// handles, and a READ whose plan failed before anything reached the device) is forwarded to
// the JavaScript thread, with the failure code attached, and TypeScript decides what happens.
// So a slow backing read blocks one worker, never the event loop.
//
// The JavaScript side drains forwarded requests with take(); a uv_async wakes it. A request's
// reply must be written to the fd it was read from (each cloned fd has its own processing
// list), so take() reports that fd.
//
// Workers block in read(2) on their fd: the kernel wakes exactly one waiting reader per request
// (poll would wake them all, and cost a syscall more per request). To stop a worker that no
// request will wake, it is sent kWakeSignal, whose handler does nothing and is installed without
// SA_RESTART, so the read returns EINTR and the worker sees the stop flag.
#include "common.h"
#include "faults.h"
#include "reply.h"

#include <string.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace splicefs {
namespace {

struct Plan {
  int fd;
  int path;      // 0 = splice, 1 = copy, 2 = copy standing in for splice (counted apart)
  int strategy;  // splice header strategy: 0 = patch, 1 = write
  size_t spliceMin;  // path 0: READs asking for fewer bytes go by copy (counted apart)
};

struct Forwarded {
  int fd;
  double failure;  // 0, or the failed plan's code -(stage << 12 | errno)
  std::vector<uint8_t> data;
};

const int kWakeSignal = SIGRTMIN + 4;

void NoopHandler(int) {}

void InstallWakeHandler() {
  static bool done = false;
  if (done) return;
  done = true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = NoopHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
  sigaction(kWakeSignal, &sa, nullptr);
}

enum Counter {
  kSpliceReplies,
  kSpliceBytes,
  kCopyReplies,
  kCopyBytes,
  kInterrupted,
  kForwarded,
  kFallbackCopies,  // path 2 replies: copies of files that cannot be spliced
  kSmallCopies,     // path 0 READs under the plan's spliceMin, sent by copy
  kSpinHits,        // waits ended by a request while spinning
  kSpinMisses,      // spins that ran out (then the worker slept)
  kCounters
};

class Workers : public Napi::ObjectWrap<Workers> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Workers",
                       {InstanceMethod("register", &Workers::Register),
                        InstanceMethod("unregister", &Workers::Unregister),
                        InstanceMethod("take", &Workers::Take),
                        InstanceMethod("counters", &Workers::Counters),
                        InstanceMethod("stop", &Workers::Stop),
                        InstanceAccessor("threads", &Workers::Threads, nullptr),
                        InstanceAccessor("pipeBytes", &Workers::PipeBytes, nullptr)});
  }

  // new Workers(masterFd, threads, pipeBytes, maxRead, requestBufferSize, onWake(ended), spinUs)
  explicit Workers(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Workers>(info) {
    Napi::Env env = info.Env();
    int master = ArgInt(info, 0);
    int n = ArgInt(info, 1);
    pipeBytes_ = ArgInt(info, 2);
    maxRead_ = static_cast<size_t>(ArgI64(info, 3));
    reqSize_ = static_cast<size_t>(ArgI64(info, 4));
    onWake_ = Napi::Persistent(info[5].As<Napi::Function>());
    spinUs_ = info.Length() > 6 ? ArgInt(info, 6) : 0;
    for (auto& c : counters_) c.store(0);

    // Measure the pipe size the threads will get, so plans can be checked against it.
    Pipe probe;
    OpenPipe(probe, pipeBytes_);
    grantedPipeBytes_ = probe.bytes;
    ClosePipe(probe);

    InstallWakeHandler();
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    async_ = new uv_async_t;
    async_->data = this;
    uv_async_init(loop, async_, &Workers::OnAsync);

    for (int i = 0; i < n; i++) {
      uint32_t m = static_cast<uint32_t>(master);
      // Blocking (see the top of this file), unless workers spin before sleeping.
      int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC | (spinUs_ > 0 ? O_NONBLOCK : 0));
      int injected = fd >= 0 ? TakeFault(kFaultClone) : 0;
      if (injected) errno = injected;
      if (fd >= 0 && (injected || ioctl(fd, FUSE_DEV_IOC_CLONE, &m) < 0)) {
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
      }
      if (fd < 0) {
        std::string msg = std::string("cannot clone /dev/fuse: ") + strerror(errno);
        Shutdown();
        Napi::Error::New(env, msg).ThrowAsJavaScriptException();
        return;
      }
      fds_.push_back(fd);
    }
    live_.store(n);
    exited_ = std::vector<std::atomic<bool>>(n);
    for (int i = 0; i < n; i++) exited_[i].store(false);
    for (int i = 0; i < n; i++) threads_.emplace_back(&Workers::Run, this, i);
  }

  ~Workers() override { Shutdown(); }

 private:
  // ---- worker threads ------------------------------------------------------------------

  void Run(int index) {
    int fd = fds_[index];
    // Only the wake signal may interrupt this thread; everything else stays with the main one.
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, kWakeSignal);
    pthread_sigmask(SIG_SETMASK, &set, nullptr);
    Pipe pipe;
    OpenPipe(pipe, pipeBytes_);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    std::vector<uint8_t> req(reqSize_);
    std::vector<uint8_t> copybuf(sizeof(fuse_out_header) + maxRead_);

    struct pollfd pfd = {fd, POLLIN, 0};
    // Spin before sleeping (spinUs_ > 0 only): keep trying for spinUs_ so that a request that
    // follows closely finds the worker awake (a wake-up costs tens of µs on a VM). Spinning
    // only pays while requests do follow closely: a spin that runs out burns spinUs_ of CPU
    // for nothing (1 MiB readahead READs come hundreds of µs apart). So `credit` counts recent
    // spins that caught a request, less those that ran out; at 0 the worker sleeps at once,
    // except every kProbeEvery-th wait, which spins to find out whether requests come close
    // together again.
    const int kCreditMax = 4;
    const unsigned kProbeEvery = 8;
    int credit = kCreditMax;
    unsigned waits = 0;
    struct timespec waitStart = {0, 0};
    bool waiting = false;
    bool spinThisWait = false;
    while (!stopping_.load(std::memory_order_acquire)) {
      ssize_t n = read(fd, req.data(), req.size());
      if (n < 0 && errno == EAGAIN) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!waiting) {
          waiting = true;
          waitStart = now;
          spinThisWait = credit > 0 || (++waits % kProbeEvery) == 0;
        }
        long elapsedUs = (now.tv_sec - waitStart.tv_sec) * 1000000L + (now.tv_nsec - waitStart.tv_nsec) / 1000;
        if (spinThisWait && elapsedUs < spinUs_) continue;
        if (spinThisWait) {
          // The spin ran out: that one was wasted.
          spinThisWait = false;
          if (credit > 0) credit--;
          counters_[kSpinMisses].fetch_add(1, std::memory_order_relaxed);
        }
        poll(&pfd, 1, -1);  // EINTR from the wake signal: the loop checks the stop flag
        continue;
      }
      if (waiting && spinThisWait) {
        // A request came while spinning: the spin saved a wake-up.
        if (credit < kCreditMax) credit++;
        counters_[kSpinHits].fetch_add(1, std::memory_order_relaxed);
      }
      waiting = false;
      if (n < 0) {
        if (errno == EINTR || errno == ENOENT) continue;  // ENOENT: aborted request
        break;  // ENODEV: the connection is gone
      }
      if (static_cast<size_t>(n) < sizeof(fuse_in_header)) continue;
      auto* in = reinterpret_cast<fuse_in_header*>(req.data());
      double failure = 0;
      if (in->opcode == FUSE_READ &&
          static_cast<size_t>(n) >= sizeof(fuse_in_header) + sizeof(fuse_read_in)) {
        auto* ri = reinterpret_cast<fuse_read_in*>(in + 1);
        Plan plan;
        bool found = false;
        {
          std::shared_lock<std::shared_mutex> lock(plansMu_);
          auto it = plans_.find(ri->fh);
          if (it != plans_.end()) {
            plan = it->second;
            found = true;
          }
        }
        if (found) {
          failure = Execute(plan, pipe, devnull, fd, in->unique, ri, copybuf);
          if (failure >= 0) continue;  // replied (or interrupted): done
        }
      }
      Forward(fd, failure, req.data(), static_cast<size_t>(n));
    }
    if (devnull >= 0) close(devnull);
    ClosePipe(pipe);
    exited_[index].store(true, std::memory_order_release);
    if (live_.fetch_sub(1) == 1) {
      ended_.store(true);
      uv_async_send(async_);
    }
  }

  // Run a plan. Returns >= 0 when the request needs nothing more, or the failure code to
  // forward with it.
  double Execute(const Plan& plan, Pipe& pipe, int devnull, int devfd, uint64_t unique,
                 const fuse_read_in* ri, std::vector<uint8_t>& copybuf) {
    size_t size = ri->size < maxRead_ ? ri->size : maxRead_;
    int64_t off = static_cast<int64_t>(ri->offset);
    double r;
    bool small = plan.path == 0 && size < plan.spliceMin;
    if (plan.path == 0 && !small) {
      if (int e = EnsurePipe(pipe, pipeBytes_)) return Fail(kStagePipe, -e);
      if (SlotsNeeded(off, size) > static_cast<size_t>(pipe.bytes / 4096)) return Fail(kStagePipeTooSmall, 0);
      size_t expected = size;
      if (plan.strategy == 1) {
        struct stat st;
        if (fstat(plan.fd, &st) < 0) return Fail(kStageFile, errno);
        expected = st.st_size > off ? static_cast<size_t>(st.st_size - off) : 0;
        if (expected > size) expected = size;
      }
      // Counted as the reply goes in, not after: the reader it wakes may look at once.
      Tally tally{&counters_[kSpliceReplies], &counters_[kSpliceBytes], nullptr};
      r = SpliceOne(pipe, devnull, pipeBytes_, devfd, unique, plan.fd, off, size, plan.strategy, expected, &tally);
      if (r >= 0) return 0;
    } else {
      Tally tally{&counters_[kCopyReplies], &counters_[kCopyBytes],
                  plan.path == 2 ? &counters_[kFallbackCopies] : small ? &counters_[kSmallCopies] : nullptr};
      r = CopyOne(devfd, unique, plan.fd, off, size, copybuf.data(), copybuf.size(), &tally);
      if (r >= 0) return 0;
    }
    int code = static_cast<int>(-r);
    if ((code >> 12) == kStageDevice) {
      // The reply did not get in: interrupted (ENOENT), or the connection is gone (the next
      // read says ENODEV). Either way there is nothing left to answer.
      if ((code & 0xfff) == ENOENT) counters_[kInterrupted].fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    return r;
  }

  void Forward(int fd, double failure, const uint8_t* data, size_t n) {
    {
      std::lock_guard<std::mutex> lock(queueMu_);
      queue_.push_back(Forwarded{fd, failure, std::vector<uint8_t>(data, data + n)});
    }
    counters_[kForwarded].fetch_add(1, std::memory_order_relaxed);
    uv_async_send(async_);
  }

  // ---- JavaScript thread ---------------------------------------------------------------

  static void OnAsync(uv_async_t* handle) {
    auto* self = static_cast<Workers*>(handle->data);
    if (!self || self->onWake_.IsEmpty()) return;
    Napi::Env env = self->onWake_.Env();
    Napi::HandleScope scope(env);
    bool ended = self->ended_.load();
    self->onWake_.MakeCallback(env.Global(), {Napi::Boolean::New(env, ended)});
  }

  // register(fh, fd, path, strategy, spliceMin)
  Napi::Value Register(const Napi::CallbackInfo& info) {
    uint64_t fh = static_cast<uint64_t>(ArgI64(info, 0));
    Plan p{ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3), static_cast<size_t>(ArgI64(info, 4))};
    std::unique_lock<std::shared_mutex> lock(plansMu_);
    plans_[fh] = p;
    return info.Env().Undefined();
  }

  Napi::Value Unregister(const Napi::CallbackInfo& info) {
    uint64_t fh = static_cast<uint64_t>(ArgI64(info, 0));
    std::unique_lock<std::shared_mutex> lock(plansMu_);
    plans_.erase(fh);
    return info.Env().Undefined();
  }

  // take(buffer, meta: Float64Array(2)) -> bytes of the next forwarded request copied into
  // buffer (0 when none is left); meta = [fd to reply on, failure code or 0].
  Napi::Value Take(const Napi::CallbackInfo& info) {
    Bytes b = ArgBytes(info, 0);
    auto meta = info[1].As<Napi::Float64Array>();
    Forwarded item;
    {
      std::lock_guard<std::mutex> lock(queueMu_);
      if (queue_.empty()) return Result(info.Env(), 0);
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    size_t n = item.data.size() < b.length ? item.data.size() : b.length;
    memcpy(b.data, item.data.data(), n);
    meta.Data()[0] = item.fd;
    meta.Data()[1] = item.failure;
    return Result(info.Env(), static_cast<double>(n));
  }

  // counters(out: Float64Array(10)): spliceReplies, spliceBytes, copyReplies, copyBytes,
  // interrupted, forwarded, fallbackCopies, smallCopies, spinHits, spinMisses.
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    auto out = info[0].As<Napi::Float64Array>();
    for (size_t i = 0; i < kCounters && i < out.ElementLength(); i++)
      out.Data()[i] = static_cast<double>(counters_[i].load(std::memory_order_relaxed));
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) { return Result(info.Env(), threads_.size()); }
  Napi::Value PipeBytes(const Napi::CallbackInfo& info) { return Result(info.Env(), grantedPipeBytes_); }

  // Stop the threads, join them, close what they used. Idempotent. Requests still queued are
  // dropped: the connection is ending. A thread blocked in read(2) is woken by kWakeSignal;
  // the signal is repeated until it has left, since one sent just before it entered read
  // would be lost.
  void Shutdown() {
    if (shut_) return;
    shut_ = true;
    stopping_.store(true, std::memory_order_release);
    for (size_t i = 0; i < threads_.size(); i++) {
      while (!exited_[i].load(std::memory_order_acquire)) {
        pthread_kill(threads_[i].native_handle(), kWakeSignal);
        usleep(1000);
      }
      threads_[i].join();
    }
    for (int fd : fds_) close(fd);
    fds_.clear();
    if (async_) {
      async_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
      async_ = nullptr;
    }
    if (!onWake_.IsEmpty()) onWake_.Reset();
  }

  int pipeBytes_ = 0;
  int grantedPipeBytes_ = 0;
  size_t maxRead_ = 0;
  size_t reqSize_ = 0;
  int spinUs_ = 0;
  bool shut_ = false;
  uv_async_t* async_ = nullptr;
  Napi::FunctionReference onWake_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::atomic<bool>> exited_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ended_{false};
  std::atomic<int> live_{0};
  std::shared_mutex plansMu_;
  std::unordered_map<uint64_t, Plan> plans_;
  std::mutex queueMu_;
  std::deque<Forwarded> queue_;
  std::atomic<uint64_t> counters_[kCounters];
};

}  // namespace

void InitWorkers(Napi::Env env, Napi::Object exports) { exports.Set("Workers", Workers::Define(env)); }

}  // namespace splicefs
