// /dev/fuse: open, mount(2), umount2, request reads, reply writes, and a uv_poll
// watcher so the event loop learns when requests are pending without ever blocking on the
// device (it is opened O_NONBLOCK: a read returns one request, or EAGAIN when none is left).
#include "common.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <uv.h>

namespace splicefs {
namespace {

// openDevice(): fd of a fresh /dev/fuse, non-blocking, close-on-exec.
Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  return fd < 0 ? Errno(info.Env()) : Result(info.Env(), fd);
}

// mount(source, target, fstype, flags, data): mount(2) as is. source and target are strings or
// Uint8Arrays of raw bytes (a mountpoint path need not be UTF-8). The caller (TypeScript) builds
// the "fd=N,rootmode=...,user_id=...,group_id=..." data string. A later fusermount3 path
// would hand us an fd instead; everything after the mount works on the fd alone.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = ArgName(info, 0), target = ArgName(info, 1), fstype = ArgName(info, 2);
  unsigned long flags = static_cast<unsigned long>(ArgI64(info, 3));
  std::string data = ArgName(info, 4);
  int r = mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.c_str());
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// umount(target, flags): umount2(2); target a string or a Uint8Array of raw bytes.
Napi::Value Umount(const Napi::CallbackInfo& info) {
  std::string target = ArgName(info, 0);
  int r = umount2(target.c_str(), ArgInt(info, 1));
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// read(fd, buffer): one read(2) into caller-owned memory; returns bytes or -errno.
Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes b = ArgBytes(info, 1);
  ssize_t n = read(fd, b.data, b.length);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// write(fd, buffer, length): one write(2) of buffer[0, length).
Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  Bytes b = ArgBytes(info, 1);
  size_t len = static_cast<size_t>(ArgI64(info, 2));
  if (len > b.length) len = b.length;
  ssize_t n = write(fd, b.data, len);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int r = close(ArgInt(info, 0));
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// Watcher(fd, callback): calls callback(status) from the event loop whenever fd is readable
// (status 0) or in error (status < 0, a libuv error code). stop() is final and idempotent.
class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Watcher", {InstanceMethod("stop", &Watcher::Stop)});
  }

  explicit Watcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Watcher>(info) {
    int fd = ArgInt(info, 0);
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(info.Env(), &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd);
    if (r == 0) r = uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT, &Watcher::OnPoll);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(info.Env(), std::string("uv_poll: ") + uv_strerror(r))
          .ThrowAsJavaScriptException();
    }
  }

  ~Watcher() override { Release(); }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<Watcher*>(handle->data);
    if (!self || self->callback_.IsEmpty()) return;
    Napi::Env env = self->callback_.Env();
    Napi::HandleScope scope(env);
    // MakeCallback runs queued microtasks afterwards, as any libuv-driven callback should.
    self->callback_.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  void Release() {
    if (poll_) {
      poll_->data = nullptr;
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (!callback_.IsEmpty()) callback_.Reset();
  }

  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
};

}  // namespace

void InitDevice(Napi::Env env, Napi::Object exports) {
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("Watcher", Watcher::Define(env));
}

}  // namespace splicefs
