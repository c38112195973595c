// FUSE_PASSTHROUGH's two device ioctls (kernel 6.9+): register an open backing file with the
// connection and get the backing id an OPEN or CREATE reply names with FOPEN_PASSTHROUGH, and
// unregister it again. The structs and ioctl numbers are newer than the installed
// linux/fuse.h (7.38); they are from ../shared/DESIGN.md (protocol 7.40). Which files pass
// through, and when an id is closed, is decided in TypeScript (src/datapath/backing.ts).
#include "common.h"
#include "faults.h"

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

namespace splicefs {
namespace {

// struct fuse_backing_map (7.40): the backing fd, flags (none defined), padding.
struct BackingMap {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};
static_assert(sizeof(BackingMap) == 16, "struct fuse_backing_map is 16 bytes");

constexpr unsigned long kBackingOpen = _IOW(229, 1, BackingMap);   // FUSE_DEV_IOC_BACKING_OPEN
constexpr unsigned long kBackingClose = _IOW(229, 2, uint32_t);    // FUSE_DEV_IOC_BACKING_CLOSE

// backingOpen(devfd, fd) -> backing id (> 0) or -errno. The kernel takes its own reference to
// the file: `fd` may be closed afterwards. EPERM: no CAP_SYS_ADMIN; ELOOP: the file's
// filesystem is stacked too deep (another FUSE passthrough or overlay mount); EOPNOTSUPP: it
// has no read_iter/write_iter; EINVAL: passthrough was not negotiated at INIT.
Napi::Value BackingOpen(const Napi::CallbackInfo& info) {
  if (int injected = TakeFault(kFaultBacking)) return Result(info.Env(), -injected);
  BackingMap map{ArgInt(info, 1), 0, 0};
  int id = ioctl(ArgInt(info, 0), kBackingOpen, &map);
  if (id < 0) return Errno(info.Env());
  return Result(info.Env(), id);
}

// backingClose(devfd, id) -> 0 or -errno. Files the kernel opened through the id keep the
// backing file until they close; the id itself is gone.
Napi::Value BackingClose(const Napi::CallbackInfo& info) {
  uint32_t id = static_cast<uint32_t>(ArgInt(info, 1));
  if (ioctl(ArgInt(info, 0), kBackingClose, &id) < 0) return Errno(info.Env());
  return Result(info.Env(), 0);
}

}  // namespace

void InitBacking(Napi::Env env, Napi::Object exports) {
  exports.Set("backingOpen", Napi::Function::New(env, BackingOpen));
  exports.Set("backingClose", Napi::Function::New(env, BackingClose));
}

}  // namespace splicefs
