// The hand-over between the worker threads and the event loop (workers.cc): the request
// buffers ("slots") and which side holds each. Plain C++: the worker threads use it.
//
// A slot is always held by exactly one side: free, a worker reading into it, queued for the
// event loop, or JavaScript dispatching the request in it. A worker that hands a request over
// takes another free slot, waiting when JavaScript holds them all; so JavaScript must release a
// slot once the request in it is dispatched, and copy out a request it keeps for later.
#pragma once

#include <stdint.h>
#include <stdlib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace splicefs {

// The request buffers. Owned jointly by the Workers object and every external Buffer over
// them, so that a Buffer JavaScript still holds never points into freed memory.
struct SlotMemory {
  SlotMemory(size_t n, size_t bytes) : bufs(n, nullptr), size(bytes) {
    for (auto& b : bufs) {
      void* mem = nullptr;
      if (posix_memalign(&mem, 4096, size) != 0) return;  // ok() says so
      b = static_cast<uint8_t*>(mem);
    }
  }
  ~SlotMemory() {
    for (auto* b : bufs) free(b);
  }
  bool ok() const { return bufs.empty() || bufs.back() != nullptr; }
  std::vector<uint8_t*> bufs;
  const size_t size;
};

// Which side holds each slot, the free ones, and the handed-over requests in arrival order.
class HandOver {
 public:
  struct Item {
    int slot;
    int fd;           // the fd to reply on
    uint32_t length;  // request bytes in the slot
    double failure;   // 0, or the code of the plan a worker tried -(stage << 12 | errno)
  };

  explicit HandOver(size_t slots) : state_(slots, kFree) {
    for (size_t i = slots; i-- > 0;) free_.push_back(static_cast<int>(i));
  }

  // A free slot for a worker, waiting until JavaScript releases one; -1 once closed.
  int Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    freed_.wait(lock, [this] { return closed_ || !free_.empty(); });
    if (closed_) return -1;
    int s = free_.back();
    free_.pop_back();
    state_[s] = kWorker;
    return s;
  }

  // A free slot without waiting, for a request the event loop read and passes to a worker
  // (Submit in workers.cc); -1 when none is free or the hand-over is closed.
  int TryAcquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || free_.empty()) return -1;
    int s = free_.back();
    free_.pop_back();
    state_[s] = kWorker;
    return s;
  }

  // A worker gives back a slot it holds (the request in it was answered there).
  void Free(int slot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (state_[slot] != kWorker) return;
      state_[slot] = kFree;
      free_.push_back(slot);
    }
    freed_.notify_one();
  }

  void Hand(const Item& item) {
    std::lock_guard<std::mutex> lock(mu_);
    state_[item.slot] = kQueued;
    queue_.push_back(item);
  }

  bool Take(Item* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return false;
    *out = queue_.front();
    queue_.pop_front();
    state_[out->slot] = kJs;
    return true;
  }

  // False when JavaScript does not hold `slot` (a double release would corrupt the free list).
  bool Release(int slot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (slot < 0 || static_cast<size_t>(slot) >= state_.size() || state_[slot] != kJs) return false;
      state_[slot] = kFree;
      free_.push_back(slot);
    }
    freed_.notify_one();
    return true;
  }

  // The connection is gone (a worker read ENODEV): no worker may wait for a slot any more,
  // or it would never leave and the event loop would never learn that all have ended. What
  // is queued stays for JavaScript to take. The flag is set under the lock, so a worker about
  // to wait cannot miss it.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    freed_.notify_all();
  }

  // Close, and drop what is queued: the workers are stopping.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      for (const Item& item : queue_) {
        state_[item.slot] = kFree;
        free_.push_back(item.slot);
      }
      queue_.clear();
    }
    freed_.notify_all();
  }

 private:
  enum State : uint8_t { kFree, kWorker, kQueued, kJs };
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<State> state_;
  std::vector<int> free_;
  std::deque<Item> queue_;
  bool closed_ = false;
};

}  // namespace splicefs
