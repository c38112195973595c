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

// 64-bit arguments travel as BigInt: a double would round anything above 2^53 (FUSE uniques,
// file offsets, inode numbers) without a word. A BigInt that does not fit is a caller's bug.
inline uint64_t ArgBigU64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a bigint");
  bool lossless = false;
  uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(what) + " must fit in 64 unsigned bits");
  return v;
}
inline int64_t ArgBigI64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a bigint");
  bool lossless = false;
  int64_t v = info[i].As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(what) + " must fit in 64 signed bits");
  return v;
}

// The typed array kind of element type T (node-addon-api keeps its own mapping protected).
template <typename T> constexpr napi_typedarray_type kTypedArrayOf = napi_int8_array;
template <> constexpr napi_typedarray_type kTypedArrayOf<int32_t> = napi_int32_array;
template <> constexpr napi_typedarray_type kTypedArrayOf<double> = napi_float64_array;
template <> constexpr napi_typedarray_type kTypedArrayOf<int64_t> = napi_bigint64_array;
template <> constexpr napi_typedarray_type kTypedArrayOf<uint64_t> = napi_biguint64_array;

// A typed array argument of element type T and at least minLength elements. Checked, because
// node-addon-api's As<> does not check, and an 8-byte array of the wrong kind (a Float64Array
// where a BigUint64Array is expected) would be filled with meaningless bits.
template <typename T>
Napi::TypedArrayOf<T> ArgTyped(const Napi::CallbackInfo& info, size_t i, size_t minLength, const char* what) {
  static_assert(kTypedArrayOf<T> != napi_int8_array, "add the element type to kTypedArrayOf");
  bool ok = info[i].IsTypedArray();
  if (ok) {
    auto a = info[i].As<Napi::TypedArray>();
    ok = a.TypedArrayType() == kTypedArrayOf<T> && a.ElementLength() >= minLength;
  }
  if (!ok)
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array of the documented kind and length");
  return info[i].As<Napi::TypedArrayOf<T>>();
}

// Path-like argument: a JS string (UTF-8), or a Buffer / Uint8Array of raw bytes (file names
// need not be UTF-8). A NUL inside the bytes ends the name, as in a FUSE request.
inline std::string ArgName(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsTypedArray()) {
    auto a = info[i].As<Napi::TypedArray>();
    if (a.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(info.Env(), "a name must be a string or a Uint8Array");
    auto b = info[i].As<Napi::Uint8Array>();
    const char* p = reinterpret_cast<const char*>(b.Data());
    size_t n = 0;
    while (n < b.ElementLength() && p[n] != '\0') n++;
    return std::string(p, n);
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
void InitExecutor(Napi::Env env, Napi::Object exports);  // ReadCounters, ReadExecutor, constants
void InitFsops(Napi::Env env, Napi::Object exports);
void InitWorkers(Napi::Env env, Napi::Object exports);
void InitFaults(Napi::Env env, Napi::Object exports);  // test hook (faults.h)
void InitNodeFds(Napi::Env env, Napi::Object exports);  // file handles, RLIMIT_NOFILE
void InitLifetime(Napi::Env env, Napi::Object exports);  // PR_SET_PDEATHSIG
void InitWriteops(Napi::Env env, Napi::Object exports);  // changes to the source, caller credentials
void InitBacking(Napi::Env env, Napi::Object exports);   // FUSE_PASSTHROUGH backing ids
void InitCommFd(Napi::Env env, Napi::Object exports);  // a mount helper's socket (fusermount3)
void InitCloser(Napi::Env env, Napi::Object exports);  // close(2) off the event loop

}  // namespace splicefs
