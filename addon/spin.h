// How a worker gets and waits for its requests (workers.cc): its cloned fd, the wake signal, and
// the adaptive spin. Plain C++, one Waiter per worker thread.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "faults.h"

namespace splicefs {

// The signal that wakes a worker blocked in read(2) or poll(2) when it is to stop: its handler
// does nothing and is installed without SA_RESTART, so the call returns EINTR.
const int kWakeSignal = SIGRTMIN + 4;

inline void NoopHandler(int) {}

inline void InstallWakeHandler() {
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

// A worker's own /dev/fuse fd on the connection of `master` (FUSE_DEV_IOC_CLONE), O_NONBLOCK when
// the worker spins; -1 with errno set (fault site clone).
inline int CloneDevice(int master, bool nonblock) {
  uint32_t m = static_cast<uint32_t>(master);
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
  int injected = fd >= 0 ? TakeFault(kFaultClone) : 0;
  if (injected) errno = injected;
  if (fd >= 0 && (injected || ioctl(fd, FUSE_DEV_IOC_CLONE, &m) < 0)) {
    int e = errno;
    close(fd);
    fd = -1;
    errno = e;
  }
  return fd;
}

// Spin before sleeping (spinUs > 0 only, on a non-blocking fd): keep trying for spinUs so that
// a request that follows closely finds the worker awake (a wake-up costs tens of µs on a VM).
// Spinning only pays while requests do follow closely: a spin that runs out burns spinUs of
// CPU for nothing (1 MiB readahead READs come hundreds of µs apart). So `credit` counts recent
// spins that caught a request, less those that ran out; at 0 the worker sleeps at once, except
// every kProbeEvery-th wait, which spins to find out whether requests come close together again.
class Waiter {
 public:
  // wakeFd: an eventfd that ends a sleep as the device does (readable while the workers are
  // parked: a worker asleep must come back to look at the park, or the requests the event loop
  // passes it would wait for the next request on the device, which may never come).
  Waiter(int fd, int wakeFd, int spinUs, std::atomic<uint64_t>* hits, std::atomic<uint64_t>* misses)
      : fd_(fd), wakeFd_(wakeFd), spinUs_(spinUs), hits_(hits), misses_(misses) {}

  // read(2) found no request (EAGAIN): go on spinning (return at once) or sleep in poll(2)
  // until the fd or the wake eventfd is readable (EINTR from the wake signal: the caller checks
  // the stop flag).
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
    struct pollfd pfd[2] = {{fd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
    poll(pfd, wakeFd_ >= 0 ? 2 : 1, -1);
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
  const int wakeFd_;
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
