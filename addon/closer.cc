// closeLater(fd): close(2) on a closer thread. Closing a file can wait on its filesystem: NFS
// writes back, a FUSE file sends FLUSH to its server, and a hung one never answers. TypeScript
// closes released file handles this way (passthrough/handles.ts), so such a close holds up a
// closer thread, never the event loop. Up to kThreads closers: one hung file leaves the others
// closing (only when all are hung do closes queue up). The fd stays open (its number taken)
// until its close has run, so nothing reuses the number meanwhile.
// closesPending(): queued or running.
#include "common.h"

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace splicefs {
namespace {

constexpr int kThreads = 4;

// Never destroyed: at exit the closer threads may still wait on the condition variable, and
// destroying one with waiters blocks (glibc's pthread_cond_destroy waits for them), so static
// destructors would hang the process's exit.
struct Closer {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int> queue;
  size_t pending = 0;  // queued + being closed
  int threads = 0;     // closer threads started
  int idle = 0;        // of them, waiting for work
};
Closer& C() {
  static Closer* c = new Closer;
  return *c;
}

void CloserThread() {
  Closer& c = C();
  std::unique_lock<std::mutex> lock(c.mu);
  for (;;) {
    c.idle++;
    c.cv.wait(lock, [&c] { return !c.queue.empty(); });
    c.idle--;
    int fd = c.queue.front();
    c.queue.pop_front();
    lock.unlock();
    close(fd);  // its error has no one to go to: RELEASE's reply is ignored by the kernel
    lock.lock();
    c.pending--;
  }
}

Napi::Value CloseLater(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Closer& c = C();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.idle == 0 && c.threads < kThreads) {
      // Detached: it lives as long as the process; a close still blocked at exit does not hold
      // the exit up.
      std::thread(CloserThread).detach();
      c.threads++;
    }
    c.queue.push_back(fd);
    c.pending++;
  }
  c.cv.notify_one();
  return info.Env().Undefined();
}

Napi::Value ClosesPending(const Napi::CallbackInfo& info) {
  Closer& c = C();
  std::lock_guard<std::mutex> lock(c.mu);
  return Napi::Number::New(info.Env(), static_cast<double>(c.pending));
}

}  // namespace

void InitCloser(Napi::Env env, Napi::Object exports) {
  exports.Set("closeLater", Napi::Function::New(env, CloseLater));
  exports.Set("closesPending", Napi::Function::New(env, ClosesPending));
}

}  // namespace splicefs
