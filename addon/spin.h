// How a worker waits for its next request when it may spin (workers.cc): the adaptive spin.
// Plain C++, one Waiter per worker thread.
#pragma once

#include <poll.h>
#include <time.h>

#include <atomic>
#include <cstdint>

namespace splicefs {

// Spin before sleeping (spinUs > 0 only, on a non-blocking fd): keep trying for spinUs so that
// a request that follows closely finds the worker awake (a wake-up costs tens of µs on a VM).
// Spinning only pays while requests do follow closely: a spin that runs out burns spinUs of
// CPU for nothing (1 MiB readahead READs come hundreds of µs apart). So `credit` counts recent
// spins that caught a request, less those that ran out; at 0 the worker sleeps at once, except
// every kProbeEvery-th wait, which spins to find out whether requests come close together again.
class Waiter {
 public:
  Waiter(int fd, int spinUs, std::atomic<uint64_t>* hits, std::atomic<uint64_t>* misses)
      : fd_(fd), spinUs_(spinUs), hits_(hits), misses_(misses) {}

  // read(2) found no request (EAGAIN): go on spinning (return at once) or sleep in poll(2)
  // until the fd is readable (EINTR from the wake signal: the caller checks the stop flag).
  void NothingYet() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!waiting_) {
      waiting_ = true;
      start_ = now;
      spinThisWait_ = credit_ > 0 || (++waits_ % kProbeEvery) == 0;
    }
    long elapsedUs = (now.tv_sec - start_.tv_sec) * 1000000L + (now.tv_nsec - start_.tv_nsec) / 1000;
    if (spinThisWait_ && elapsedUs < spinUs_) return;
    if (spinThisWait_) {
      // The spin ran out: that one was wasted.
      spinThisWait_ = false;
      if (credit_ > 0) credit_--;
      misses_->fetch_add(1, std::memory_order_relaxed);
    }
    struct pollfd pfd = {fd_, POLLIN, 0};
    poll(&pfd, 1, -1);
  }

  // read(2) returned a request or an error: the wait, if there was one, is over.
  void Got() {
    if (waiting_ && spinThisWait_) {
      // A request came while spinning: the spin saved a wake-up.
      if (credit_ < kCreditMax) credit_++;
      hits_->fetch_add(1, std::memory_order_relaxed);
    }
    waiting_ = false;
  }

 private:
  static constexpr int kCreditMax = 4;
  static constexpr unsigned kProbeEvery = 8;
  const int fd_;
  const int spinUs_;
  std::atomic<uint64_t>* hits_;
  std::atomic<uint64_t>* misses_;
  int credit_ = kCreditMax;
  unsigned waits_ = 0;
  struct timespec start_ = {0, 0};
  bool waiting_ = false;
  bool spinThisWait_ = false;
};

}  // namespace splicefs
