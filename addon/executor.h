// N-API helpers the executor module (executor.cc) shares with workers.cc: how a plan and a
// counter block arrive from JavaScript, so both entries read them the same way.
#pragma once

#include "common.h"
#include "reply.h"

#include <memory>

namespace splicefs {

// The plan in a plan Int32Array argument (fields in the order of constants.planFields).
// Throws a TypeError / RangeError for a wrong array or a value out of range: a plan is built
// by TypeScript, so a bad one is a programming error, not a failed syscall.
ReadPlan ArgPlan(const Napi::CallbackInfo& info, size_t i);

// The counter block behind a ReadCounters argument; throws a TypeError for anything else.
std::shared_ptr<ReadCounters> ArgCounters(const Napi::CallbackInfo& info, size_t i);

// Names of the Workers.counters values, in order (defined in workers.cc, next to the enum
// they name), for addon.constants.workerCounters.
extern const char* const kWorkerCounterNames[];
extern const size_t kWorkerCounterCount;

}  // namespace splicefs
