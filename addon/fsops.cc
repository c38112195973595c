// The *at calls Node's fs lacks, all relative to a directory fd (usually an O_PATH fd the
// inode table owns), so the server never resolves a path string inside the source again.
// Each returns >= 0 or -errno. Names are Buffers of raw bytes (need not be UTF-8).
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

// fstatat(dirfd, name, flags, out: Float64Array(16)) -> 0. With name "" pass AT_EMPTY_PATH.
// out = dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks,
//       atime s, ns, mtime s, ns, ctime s, ns
Napi::Value Fstatat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  auto out = info[3].As<Napi::Float64Array>();
  if (out.ElementLength() < 16) return Result(info.Env(), -EINVAL);
  struct stat st;
  if (fstatat(ArgInt(info, 0), name.c_str(), &st, ArgInt(info, 2)) < 0) return Errno(info.Env());
  double* o = out.Data();
  o[0] = static_cast<double>(st.st_dev);
  o[1] = static_cast<double>(st.st_ino);
  o[2] = st.st_mode;
  o[3] = static_cast<double>(st.st_nlink);
  o[4] = st.st_uid;
  o[5] = st.st_gid;
  o[6] = static_cast<double>(st.st_rdev);
  o[7] = static_cast<double>(st.st_size);
  o[8] = static_cast<double>(st.st_blksize);
  o[9] = static_cast<double>(st.st_blocks);
  o[10] = static_cast<double>(st.st_atim.tv_sec);
  o[11] = static_cast<double>(st.st_atim.tv_nsec);
  o[12] = static_cast<double>(st.st_mtim.tv_sec);
  o[13] = static_cast<double>(st.st_mtim.tv_nsec);
  o[14] = static_cast<double>(st.st_ctim.tv_sec);
  o[15] = static_cast<double>(st.st_ctim.tv_nsec);
  return Result(info.Env(), 0);
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

// lseek(fd, offset, whence) -> new offset (SEEK_DATA / SEEK_HOLE included).
Napi::Value Lseek(const Napi::CallbackInfo& info) {
  off_t r = lseek(ArgInt(info, 0), static_cast<off_t>(ArgI64(info, 1)), ArgInt(info, 2));
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), static_cast<double>(r));
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

// fstatvfs(fd, out: Float64Array(8)) -> 0.
// out = bsize, frsize, blocks, bfree, bavail, files, ffree, namemax
Napi::Value Fstatvfs(const Napi::CallbackInfo& info) {
  auto out = info[1].As<Napi::Float64Array>();
  if (out.ElementLength() < 8) return Result(info.Env(), -EINVAL);
  struct statvfs s;
  if (fstatvfs(ArgInt(info, 0), &s) < 0) return Errno(info.Env());
  double* o = out.Data();
  o[0] = static_cast<double>(s.f_bsize);
  o[1] = static_cast<double>(s.f_frsize);
  o[2] = static_cast<double>(s.f_blocks);
  o[3] = static_cast<double>(s.f_bfree);
  o[4] = static_cast<double>(s.f_bavail);
  o[5] = static_cast<double>(s.f_files);
  o[6] = static_cast<double>(s.f_ffree);
  o[7] = static_cast<double>(s.f_namemax);
  return Result(info.Env(), 0);
}

// access(fd, mode) -> 0: access(2) on the object an O_PATH fd names.
Napi::Value Access(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  int r = faccessat(AT_FDCWD, path.c_str(), ArgInt(info, 1), 0);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

}  // namespace

void InitFsops(Napi::Env env, Napi::Object exports) {
  exports.Set("openat", Napi::Function::New(env, Openat));
  exports.Set("openProc", Napi::Function::New(env, OpenProc));
  exports.Set("fstatat", Napi::Function::New(env, Fstatat));
  exports.Set("readlinkat", Napi::Function::New(env, Readlinkat));
  exports.Set("getdents", Napi::Function::New(env, Getdents));
  exports.Set("lseek", Napi::Function::New(env, Lseek));
  exports.Set("getxattr", Napi::Function::New(env, Getxattr));
  exports.Set("listxattr", Napi::Function::New(env, Listxattr));
  exports.Set("fstatvfs", Napi::Function::New(env, Fstatvfs));
  exports.Set("access", Napi::Function::New(env, Access));
}

}  // namespace splicefs
