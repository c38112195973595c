// Module entry: registers the syscall groups (device, executor, fsops, workers, node fds, lifetime,
// writeops, backing, commfd) and the fault-injection test hook (faults.h).
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  splicefs::InitDevice(env, exports);
  splicefs::InitExecutor(env, exports);
  splicefs::InitFsops(env, exports);
  splicefs::InitWorkers(env, exports);
  splicefs::InitFaults(env, exports);
  splicefs::InitNodeFds(env, exports);
  splicefs::InitLifetime(env, exports);
  splicefs::InitWriteops(env, exports);
  splicefs::InitBacking(env, exports);
  splicefs::InitCommFd(env, exports);
  splicefs::InitCloser(env, exports);
  return exports;
}

NODE_API_MODULE(splicefs, Init)
