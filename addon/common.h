// Shared helpers for the splicefs addon.
//
// The addon is a thin syscall layer: every function does one kernel job and reports the
// result as a number (>= 0 on success, -errno on failure). It never throws for a failed
// syscall (only for a JavaScript programming error such as a wrong argument type), and it
// never decides FUSE policy: which path a READ takes is TypeScript's choice.
#pragma once

#include <napi.h>
#include <cerrno>
#include <cstdint>
#include <string>

namespace splicefs {

// Result of a syscall as a JS number: the value, or -errno.
inline Napi::Value Result(Napi::Env env, long long value) {
  return Napi::Number::New(env, static_cast<double>(value));
}
inline Napi::Value Errno(Napi::Env env) { return Result(env, -static_cast<long long>(errno)); }

inline int ArgInt(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int32Value();
}
inline int64_t ArgI64(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int64Value();
}
inline uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Uint32Value();
}

// Path-like argument: a JS string (UTF-8) or a Buffer of raw bytes (file names need not be
// UTF-8). A trailing NUL inside a Buffer ends the name, as in a FUSE request.
inline std::string ArgName(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBuffer()) {
    auto b = info[i].As<Napi::Buffer<char>>();
    size_t n = 0;
    while (n < b.Length() && b.Data()[n] != '\0') n++;
    return std::string(b.Data(), n);
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// Memory of a Buffer / Uint8Array argument.
struct Bytes {
  uint8_t* data;
  size_t length;
};
inline Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Uint8Array>();
  return Bytes{a.Data(), a.ByteLength()};
}

// "/proc/self/fd/N": how operations that have no fd form (xattrs, access) reach the object an
// O_PATH descriptor names without resolving a path inside the source tree again.
inline std::string ProcFdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void InitDevice(Napi::Env env, Napi::Object exports);
void InitSplice(Napi::Env env, Napi::Object exports);
void InitFsops(Napi::Env env, Napi::Object exports);
void InitWorkers(Napi::Env env, Napi::Object exports);
void InitFaults(Napi::Env env, Napi::Object exports);  // test hook (faults.h)

}  // namespace splicefs
