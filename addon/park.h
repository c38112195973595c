// Parking (workers.cc park/submit; when, transport/phases.ts): the workers stop reading the
// device, the event loop reads it and passes them the requests they execute (jobs), and they
// answer those on the master fd it read them from. Plain C++.
#pragma once

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace splicefs {

// An eventfd readable while the workers are parked: a worker asleep in poll(2) on its device fd
// polls it too (spin.h Waiter), so it comes back to wait for jobs. The device alone would not
// wake it: the event loop may read the request that woke it first, and the job passed on for
// it would wait for the next request, which a synchronous caller never sends.
class ParkBell {
 public:
  // False (errno set) if the eventfd cannot be made.
  bool Open() {
    fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd_ >= 0;
  }
  int fd() const { return fd_; }
  void Set(bool parked) {
    if (fd_ < 0) return;
    uint64_t v = 1;
    // EAGAIN: at the counter's limit (readable anyway), or not set when cleared.
    if ((parked ? write(fd_, &v, sizeof v) : read(fd_, &v, sizeof v)) < 0) {}
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Requests the event loop read itself and passes to the worker threads to execute (a READ,
// WRITE, FSYNC or FALLOCATE of a handle with a plan, while the workers are parked: see
// transport/workers.ts). Each job is a slot a worker will execute and then free or hand back.
class JobQueue {
 public:
  struct Job {
    int slot;
    uint32_t length;
  };

  void Push(const Job& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(job);
    }
    ready_.notify_one();
  }

  // The next job, waiting while `parked` holds and none is queued. False: none, and the
  // workers are unparked or stopping (the caller goes back to reading the device).
  template <typename Parked>
  bool Next(Job* out, Parked parked) {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !jobs_.empty() || !parked(); });
    if (jobs_.empty()) return false;
    *out = jobs_.front();
    jobs_.pop_front();
    return true;
  }

  bool Empty() {
    std::lock_guard<std::mutex> lock(mu_);
    return jobs_.empty();
  }

  // Wake every waiting worker to look at the parked and stop flags again. Taking the lock
  // first means a worker about to wait cannot miss the change.
  void WakeAll() {
    { std::lock_guard<std::mutex> lock(mu_); }
    ready_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
};

}  // namespace splicefs
