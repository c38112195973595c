// The server process's lifetime tied to its parent's: prctl(PR_SET_PDEATHSIG). A server run in
// the foreground by a wrapper (npm exec / npx, a shell script, a supervisor) must not outlive it:
// otherwise SIGTERM to the wrapper leaves the server orphaned and the mount behind.
#include "common.h"

#include <csignal>
#include <sys/prctl.h>

namespace splicefs {
namespace {

// setParentDeathSignal(sig): the kernel sends `sig` to this process when the thread that
// created it exits (0 clears it). Returns 0 or -errno. Not inherited by children, cleared by
// exec of a set-user-ID program; the caller sets it once, early, in foreground mode only.
Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  int r = prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(ArgInt(info, 0)), 0, 0, 0);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

}  // namespace

void InitLifetime(Napi::Env env, Napi::Object exports) {
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal));
}

}  // namespace splicefs
