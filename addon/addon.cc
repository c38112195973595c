// Module entry: registers the three syscall groups (device, splice, fsops).
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  splicefs::InitDevice(env, exports);
  splicefs::InitSplice(env, exports);
  splicefs::InitFsops(env, exports);
  splicefs::InitWorkers(env, exports);
  return exports;
}

NODE_API_MODULE(splicefs, Init)
