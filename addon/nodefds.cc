// What lets a node give back its O_PATH fd and get it again, and the fd limit that makes that
// necessary: file handles (name_to_handle_at / open_by_handle_at) and RLIMIT_NOFILE.
// Each returns >= 0 or -errno, like the rest of the addon; TypeScript decides when to use them
// (src/passthrough/node-fds.ts, src/passthrough/fd-limit.ts).
#include "common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>

namespace splicefs {
namespace {

// A handle as TypeScript keeps it: the 4-byte handle_type (host order) then the f_handle
// bytes. handle_bytes is the length minus 4, so nothing else needs storing.
constexpr size_t kTypeBytes = sizeof(int);

// nameToHandle(fd, out: Uint8Array of >= 4 + MAX_HANDLE_SZ bytes) -> bytes written
// (4 + handle_bytes). For the object fd itself names (AT_EMPTY_PATH: O_PATH fds of
// symlinks included). EOPNOTSUPP: the filesystem has no export operations.
Napi::Value NameToHandle(const Napi::CallbackInfo& info) {
  Bytes out = ArgBytes(info, 1);
  if (out.length < kTypeBytes + MAX_HANDLE_SZ)
    throw Napi::TypeError::New(info.Env(), "nameToHandle(out) needs 4 + MAX_HANDLE_SZ bytes");
  alignas(struct file_handle) unsigned char storage[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  auto* fh = reinterpret_cast<struct file_handle*>(storage);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mountId = 0;
  if (name_to_handle_at(ArgInt(info, 0), "", fh, &mountId, AT_EMPTY_PATH) < 0) return Errno(info.Env());
  memcpy(out.data, &fh->handle_type, kTypeBytes);
  memcpy(out.data + kTypeBytes, fh->f_handle, fh->handle_bytes);
  return Result(info.Env(), static_cast<long long>(kTypeBytes + fh->handle_bytes));
}

// openByHandle(mountFd, handle: Uint8Array as nameToHandle wrote it, flags) -> fd.
// mountFd: any fd on the handle's filesystem. Needs CAP_DAC_READ_SEARCH (EPERM without);
// ESTALE when the object is gone.
Napi::Value OpenByHandle(const Napi::CallbackInfo& info) {
  Bytes in = ArgBytes(info, 1);
  if (in.length < kTypeBytes || in.length > kTypeBytes + MAX_HANDLE_SZ)
    throw Napi::TypeError::New(info.Env(), "openByHandle(handle) must be 4 to 4 + MAX_HANDLE_SZ bytes");
  alignas(struct file_handle) unsigned char storage[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  auto* fh = reinterpret_cast<struct file_handle*>(storage);
  fh->handle_bytes = static_cast<unsigned>(in.length - kTypeBytes);
  memcpy(&fh->handle_type, in.data, kTypeBytes);
  memcpy(fh->f_handle, in.data + kTypeBytes, fh->handle_bytes);
  int fd = open_by_handle_at(ArgInt(info, 0), fh, ArgInt(info, 2) | O_CLOEXEC);
  return fd < 0 ? Errno(info.Env()) : Result(info.Env(), fd);
}

// RLIM_INFINITY travels as -1 both ways (it does not fit a double exactly).
double FromRlim(rlim_t v) { return v == RLIM_INFINITY ? -1.0 : static_cast<double>(v); }
rlim_t ToRlim(const Napi::Value& v) {
  double d = v.As<Napi::Number>().DoubleValue();
  return d < 0 ? RLIM_INFINITY : static_cast<rlim_t>(d);
}

// getrlimitNofile(out: Float64Array(2)) -> 0; out = [soft, hard] of RLIMIT_NOFILE (-1: unlimited).
Napi::Value GetrlimitNofile(const Napi::CallbackInfo& info) {
  auto out = ArgTyped<double>(info, 0, 2, "getrlimitNofile(out)");
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) < 0) return Errno(info.Env());
  out[0] = FromRlim(r.rlim_cur);
  out[1] = FromRlim(r.rlim_max);
  return Result(info.Env(), 0);
}

// setrlimitNofile(soft, hard) -> 0 (-1: unlimited). EPERM raising the hard limit unprivileged.
Napi::Value SetrlimitNofile(const Napi::CallbackInfo& info) {
  struct rlimit r;
  r.rlim_cur = ToRlim(info[0]);
  r.rlim_max = ToRlim(info[1]);
  return setrlimit(RLIMIT_NOFILE, &r) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

}  // namespace

void InitNodeFds(Napi::Env env, Napi::Object exports) {
  exports.Set("nameToHandle", Napi::Function::New(env, NameToHandle));
  exports.Set("openByHandle", Napi::Function::New(env, OpenByHandle));
  exports.Set("getrlimitNofile", Napi::Function::New(env, GetrlimitNofile));
  exports.Set("setrlimitNofile", Napi::Function::New(env, SetrlimitNofile));
  exports.Set("MAX_HANDLE_SZ", Napi::Number::New(env, MAX_HANDLE_SZ));
}

}  // namespace splicefs
