// The READs worker threads answered themselves, kept for the debug log. JavaScript never sees
// those requests (that is the point of the workers), so when the log is at debug level a worker
// leaves one compact record per READ here and wakes the event loop, which prints them
// (transport/workers.ts). Plain C++: the worker threads use it.
//
// Bounded: a log that cannot keep up (a slow terminal) loses records, counted and reported,
// and never holds a worker beyond one short lock. Off (no ServedLog at all) unless asked for.
#pragma once

#include <stdint.h>
#include <string.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace splicefs {

// A record is kServedFields int64 values, in this order (addon.constants.servedFields).
// unique and offset are u64 bit patterns; result is the data bytes sent or a failure code
// -(stage << 12 | errno) of the device (the only failure a worker answers itself); path is a
// ReadPath (the way the reply went); thread is the worker's index.
enum ServedField { kServedUnique, kServedNodeid, kServedFh, kServedOffset, kServedSize, kServedResult,
                   kServedPath, kServedThread, kServedFields };
inline constexpr const char* kServedFieldNames[kServedFields] = {"unique", "nodeid", "fh", "offset", "size",
                                                                  "result", "path", "thread"};

class ServedLog {
 public:
  explicit ServedLog(size_t capacity) : capacity_(capacity) { recs_.reserve(capacity * kServedFields); }

  size_t capacity() const { return capacity_; }

  void Add(const int64_t (&rec)[kServedFields]) {
    std::lock_guard<std::mutex> lock(mu_);
    if (recs_.size() >= capacity_ * kServedFields) {
      dropped_++;
      return;
    }
    recs_.insert(recs_.end(), rec, rec + kServedFields);
  }

  // Move up to `max` records into `out` (oldest first); *dropped gets the records lost since
  // the last call. Returns the records moved.
  size_t Take(int64_t* out, size_t max, uint64_t* dropped) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = recs_.size() / kServedFields;
    if (n > max) n = max;
    memcpy(out, recs_.data(), n * kServedFields * sizeof(int64_t));
    recs_.erase(recs_.begin(), recs_.begin() + static_cast<std::ptrdiff_t>(n * kServedFields));
    *dropped = dropped_;
    dropped_ = 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<int64_t> recs_;
  const size_t capacity_;
  uint64_t dropped_ = 0;
};

}  // namespace splicefs
