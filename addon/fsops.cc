// The *at calls Node's fs lacks, all relative to a directory fd (usually an O_PATH fd the
// inode table owns), so the server never resolves a path string inside the source again.
// Each returns >= 0 or -errno. Names are Buffers of raw bytes (need not be UTF-8).
#include "common.h"

#include <dirent.h>
#include <string.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace splicefs {
namespace {

// openat(dirfd, name, flags, mode) -> fd. An empty name with O_PATH is not allowed by the
// kernel; to reopen an O_PATH fd with real access use openProc().
Napi::Value Openat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  int fd = openat(ArgInt(info, 0), name.c_str(), ArgInt(info, 2) | O_CLOEXEC,
                  static_cast<mode_t>(ArgU32(info, 3)));
  return fd < 0 ? Errno(info.Env()) : Result(info.Env(), fd);
}

// openProc(fd, flags) -> a new fd for the object an O_PATH fd names, with real access
// (open of /proc/self/fd/N re-opens the inode itself; no path in the source is resolved).
Napi::Value OpenProc(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  int fd = open(path.c_str(), ArgInt(info, 1) | O_CLOEXEC);
  return fd < 0 ? Errno(info.Env()) : Result(info.Env(), fd);
}

// fstatat(dirfd, name, flags, out: BigUint64Array(16)) -> 0. With name "" pass AT_EMPTY_PATH.
// out = dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks,
//       atime s, ns, mtime s, ns, ctime s, ns
// Raw 64-bit values, since inode numbers near 2^63 exist (overlayfs xino) and a double would
// round them; the signed ones (size, blocks, times) as their two's-complement bits, which
// BigInt.asIntN(64, v) reads back.
void FillStat(uint64_t* out, const struct stat& st) {
  const uint64_t v[16] = {
      static_cast<uint64_t>(st.st_dev),          static_cast<uint64_t>(st.st_ino),
      static_cast<uint64_t>(st.st_mode),         static_cast<uint64_t>(st.st_nlink),
      static_cast<uint64_t>(st.st_uid),          static_cast<uint64_t>(st.st_gid),
      static_cast<uint64_t>(st.st_rdev),         static_cast<uint64_t>(st.st_size),
      static_cast<uint64_t>(st.st_blksize),      static_cast<uint64_t>(st.st_blocks),
      static_cast<uint64_t>(st.st_atim.tv_sec),  static_cast<uint64_t>(st.st_atim.tv_nsec),
      static_cast<uint64_t>(st.st_mtim.tv_sec),  static_cast<uint64_t>(st.st_mtim.tv_nsec),
      static_cast<uint64_t>(st.st_ctim.tv_sec),  static_cast<uint64_t>(st.st_ctim.tv_nsec),
  };
  memcpy(out, v, sizeof v);
}

Napi::Value Fstatat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  auto out = ArgTyped<uint64_t>(info, 3, 16, "fstatat(out)");
  struct stat st;
  if (fstatat(ArgInt(info, 0), name.c_str(), &st, ArgInt(info, 2)) < 0) return Errno(info.Env());
  FillStat(out.Data(), st);
  return Result(info.Env(), 0);
}

// openStat(dirfd, name, flags, resolve, out: BigUint64Array(16)) -> fd: a LOOKUP's open and
// stat in one call (a directory listing makes one per entry). Opens `name` under dirfd with
// openat2 and the RESOLVE_* bits `resolve` when non-zero (RESOLVE_NO_XDEV refuses a name that
// crosses onto another mount with EXDEV), else with openat; then stats the new fd itself
// (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) into out, as fstatat fills it. The fd is closed if the
// stat fails. -ENOSYS: the kernel has no openat2 (before 5.6).
Napi::Value OpenStat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  auto out = ArgTyped<uint64_t>(info, 4, 16, "openStat(out)");
  int dirfd = ArgInt(info, 0);
  int flags = ArgInt(info, 2) | O_CLOEXEC;
  uint32_t resolve = ArgU32(info, 3);
  int fd;
  if (resolve != 0) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = static_cast<uint64_t>(static_cast<uint32_t>(flags));
    how.resolve = resolve;
    fd = static_cast<int>(syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how));
  } else {
    fd = openat(dirfd, name.c_str(), flags);
  }
  if (fd < 0) return Errno(info.Env());
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    int e = errno;
    close(fd);
    return Result(info.Env(), -static_cast<long long>(e));
  }
  FillStat(out.Data(), st);
  return Result(info.Env(), fd);
}

// readlinkat(dirfd, name, buffer) -> bytes of the target written into buffer.
Napi::Value Readlinkat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  Bytes b = ArgBytes(info, 2);
  ssize_t n = readlinkat(ArgInt(info, 0), name.c_str(), reinterpret_cast<char*>(b.data), b.length);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// getdents(fd, buffer) -> bytes of linux_dirent64 records, 0 at the end of the directory.
Napi::Value Getdents(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 1);
  long n = syscall(SYS_getdents64, ArgInt(info, 0), b.data, b.length);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// lseek(fd, offset: bigint, whence, out: BigInt64Array(1)) -> 0, the new offset in out[0]
// (SEEK_DATA / SEEK_HOLE included). An offset is 64-bit: it travels as a BigInt both ways.
Napi::Value Lseek(const Napi::CallbackInfo& info) {
  int64_t offset = ArgBigI64(info, 1, "offset");
  auto out = ArgTyped<int64_t>(info, 3, 1, "lseek(out)");
  off_t r = lseek(ArgInt(info, 0), static_cast<off_t>(offset), ArgInt(info, 2));
  if (r < 0) return Errno(info.Env());
  out[0] = static_cast<int64_t>(r);
  return Result(info.Env(), 0);
}

// getxattr(fd, name, buffer) -> value length (buffer of length 0 asks for the size only).
// Through /proc/self/fd/N, since fgetxattr refuses O_PATH fds.
Napi::Value Getxattr(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  std::string name = ArgName(info, 1);
  Bytes b = ArgBytes(info, 2);
  ssize_t n = getxattr(path.c_str(), name.c_str(), b.length ? b.data : nullptr, b.length);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// listxattr(fd, buffer) -> length of the NUL-separated name list (buffer of length 0: size).
Napi::Value Listxattr(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  Bytes b = ArgBytes(info, 1);
  ssize_t n = listxattr(path.c_str(), b.length ? reinterpret_cast<char*>(b.data) : nullptr, b.length);
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// fstatvfs(fd, out: BigUint64Array(8)) -> 0.
// out = bsize, frsize, blocks, bfree, bavail, files, ffree, namemax (64-bit block and file
// counts of a large filesystem exceed 2^53).
Napi::Value Fstatvfs(const Napi::CallbackInfo& info) {
  auto out = ArgTyped<uint64_t>(info, 1, 8, "fstatvfs(out)");
  struct statvfs s;
  if (fstatvfs(ArgInt(info, 0), &s) < 0) return Errno(info.Env());
  const uint64_t v[8] = {s.f_bsize, s.f_frsize, s.f_blocks, s.f_bfree, s.f_bavail, s.f_files, s.f_ffree, s.f_namemax};
  memcpy(out.Data(), v, sizeof v);
  return Result(info.Env(), 0);
}

// access(fd, mode) -> 0: access(2) on the object an O_PATH fd names.
Napi::Value Access(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  int r = faccessat(AT_FDCWD, path.c_str(), ArgInt(info, 1), 0);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}


// statx(dirfd, name, flags, mask, out: BigUint64Array(25)) -> 0. With name "" pass
// AT_EMPTY_PATH; flags may carry AT_STATX_FORCE_SYNC / AT_STATX_DONT_SYNC.
// out[0..15] = the fstatat layout above (dev and rdev as glibc's makedev of the statx
// major/minor pairs, which is what stat(2) reports), so the same code reads both;
// out[16..24] = stx_mask, stx_attributes, stx_attributes_mask, btime s, btime ns,
//               rdev major, rdev minor, dev major, dev minor.
// Raw 64-bit values (see Fstatat): inode numbers, sizes and times travel exactly. Fields whose
// bit is missing from stx_mask hold whatever the kernel left there (zero from statx(2)).
Napi::Value Statx(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  auto out = ArgTyped<uint64_t>(info, 4, 25, "statx(out)");
  struct statx sx;
  memset(&sx, 0, sizeof sx);
  if (statx(ArgInt(info, 0), name.c_str(), ArgInt(info, 2), ArgU32(info, 3), &sx) < 0) return Errno(info.Env());
  const uint64_t v[25] = {
      static_cast<uint64_t>(makedev(sx.stx_dev_major, sx.stx_dev_minor)),
      sx.stx_ino,
      sx.stx_mode,
      sx.stx_nlink,
      sx.stx_uid,
      sx.stx_gid,
      static_cast<uint64_t>(makedev(sx.stx_rdev_major, sx.stx_rdev_minor)),
      sx.stx_size,
      sx.stx_blksize,
      sx.stx_blocks,
      static_cast<uint64_t>(sx.stx_atime.tv_sec),
      sx.stx_atime.tv_nsec,
      static_cast<uint64_t>(sx.stx_mtime.tv_sec),
      sx.stx_mtime.tv_nsec,
      static_cast<uint64_t>(sx.stx_ctime.tv_sec),
      sx.stx_ctime.tv_nsec,
      sx.stx_mask,
      sx.stx_attributes,
      sx.stx_attributes_mask,
      static_cast<uint64_t>(sx.stx_btime.tv_sec),
      sx.stx_btime.tv_nsec,
      sx.stx_rdev_major,
      sx.stx_rdev_minor,
      sx.stx_dev_major,
      sx.stx_dev_minor,
  };
  memcpy(out.Data(), v, sizeof v);
  return Result(info.Env(), 0);
}

// fstatfsType(fd) -> f_type, the filesystem's magic number (linux/magic.h) as an unsigned
// 32-bit value. Works on O_PATH fds. Tells a pseudo filesystem (proc, sysfs, ...) whose file
// sizes say nothing about their content.
Napi::Value FstatfsType(const Napi::CallbackInfo& info) {
  struct statfs s;
  if (fstatfs(ArgInt(info, 0), &s) < 0) return Errno(info.Env());
  return Result(info.Env(), static_cast<uint32_t>(s.f_type));
}

}  // namespace

void InitFsops(Napi::Env env, Napi::Object exports) {
  exports.Set("openat", Napi::Function::New(env, Openat));
  exports.Set("openProc", Napi::Function::New(env, OpenProc));
  exports.Set("fstatat", Napi::Function::New(env, Fstatat));
  exports.Set("openStat", Napi::Function::New(env, OpenStat));
  exports.Set("readlinkat", Napi::Function::New(env, Readlinkat));
  exports.Set("getdents", Napi::Function::New(env, Getdents));
  exports.Set("lseek", Napi::Function::New(env, Lseek));
  exports.Set("getxattr", Napi::Function::New(env, Getxattr));
  exports.Set("listxattr", Napi::Function::New(env, Listxattr));
  exports.Set("fstatvfs", Napi::Function::New(env, Fstatvfs));
  exports.Set("access", Napi::Function::New(env, Access));
  exports.Set("statx", Napi::Function::New(env, Statx));
  exports.Set("fstatfsType", Napi::Function::New(env, FstatfsType));
}

}  // namespace splicefs
