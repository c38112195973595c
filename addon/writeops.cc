// The syscalls of a read-write mount: every change to the source, each relative to an fd the
// inode table or a handle owns (an O_PATH fd of the node, or of its parent directory plus a
// name), never a path string inside the source. Each returns >= 0 or -errno. Which call runs
// with which arguments is decided in TypeScript (src/passthrough/ops/); nothing here chooses.
//
// Also the caller's credentials: setCreds/restoreCreds switch the fsuid, fsgid and
// supplementary groups of the CALLING THREAD only (raw syscalls: glibc's setgroups/setuid
// would change every thread of the process, worker threads included).
#include "common.h"
#include "write.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // Linux 6.6: fchmodat with flags (AT_EMPTY_PATH)
#endif

namespace splicefs {
namespace {

// pwrite(fd, data: Uint8Array, offset: bigint) -> bytes written (a short count is the caller's
// to report; nothing here retries).
Napi::Value Pwrite(const Napi::CallbackInfo& info) {
  Bytes b = ArgBytes(info, 1);
  int64_t off = ArgBigI64(info, 2, "offset");
  ssize_t n = pwrite(ArgInt(info, 0), b.data, b.length, static_cast<off_t>(off));
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// ftruncate(fd, size: bigint) -> 0. fd must be open for writing.
Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  int64_t size = ArgBigI64(info, 1, "size");
  return ftruncate(ArgInt(info, 0), static_cast<off_t>(size)) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// chmod(fd, mode) -> 0: of the object an O_PATH fd names (fchmodat2 with AT_EMPTY_PATH; on a
// kernel without it, through /proc/self/fd/N). fchmod(2) refuses O_PATH fds.
Napi::Value Chmod(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  mode_t mode = static_cast<mode_t>(ArgU32(info, 1));
  long r = syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH);
  if (r < 0 && errno == ENOSYS) r = chmod(ProcFdPath(fd).c_str(), mode);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// chown(fd, uid, gid) -> 0: of the object an O_PATH fd names, symlinks included (never
// followed). uid or gid 0xffffffff (-1) leaves that one unchanged.
Napi::Value Chown(const Napi::CallbackInfo& info) {
  int r = fchownat(ArgInt(info, 0), "", static_cast<uid_t>(ArgU32(info, 1)), static_cast<gid_t>(ArgU32(info, 2)),
                   AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// utimens(fd, times: BigInt64Array(4)) -> 0: [atime s, atime ns, mtime s, mtime ns] of the
// object an O_PATH fd names (never following a symlink). A nanosecond field may be UTIME_NOW
// or UTIME_OMIT, as in utimensat(2).
Napi::Value Utimens(const Napi::CallbackInfo& info) {
  auto t = ArgTyped<int64_t>(info, 1, 4, "utimens(times)");
  struct timespec ts[2];
  ts[0].tv_sec = t[0];
  ts[0].tv_nsec = t[1];
  ts[1].tv_sec = t[2];
  ts[1].tv_nsec = t[3];
  int r = utimensat(ArgInt(info, 0), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// mkdirat(dirfd, name, mode) -> 0
Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  return mkdirat(ArgInt(info, 0), name.c_str(), static_cast<mode_t>(ArgU32(info, 2))) < 0 ? Errno(info.Env())
                                                                                        : Result(info.Env(), 0);
}

// mknodat(dirfd, name, mode, rdev) -> 0 (rdev: the kernel's new_encode_dev form, as FUSE sends it)
Napi::Value Mknodat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  uint32_t rdev = ArgU32(info, 3);
  // FUSE carries rdev as the kernel's 32-bit new_encode_dev; glibc's dev_t is makedev-encoded.
  dev_t dev = makedev((rdev & 0xfff00) >> 8, (rdev & 0xff) | ((rdev >> 12) & 0xfff00));
  int r = mknodat(ArgInt(info, 0), name.c_str(), static_cast<mode_t>(ArgU32(info, 2)), dev);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// symlinkat(target bytes, dirfd, name) -> 0
Napi::Value Symlinkat(const Napi::CallbackInfo& info) {
  std::string target = ArgName(info, 0);
  std::string name = ArgName(info, 2);
  return symlinkat(target.c_str(), ArgInt(info, 1), name.c_str()) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// unlinkat(dirfd, name, flags) -> 0 (flags: AT_REMOVEDIR for RMDIR)
Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  std::string name = ArgName(info, 1);
  return unlinkat(ArgInt(info, 0), name.c_str(), ArgInt(info, 2)) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// renameat2(olddirfd, oldname, newdirfd, newname, flags) -> 0 (RENAME_NOREPLACE, RENAME_EXCHANGE)
Napi::Value Renameat2(const Napi::CallbackInfo& info) {
  std::string oldName = ArgName(info, 1);
  std::string newName = ArgName(info, 3);
  long r = syscall(SYS_renameat2, ArgInt(info, 0), oldName.c_str(), ArgInt(info, 2), newName.c_str(), ArgU32(info, 4));
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// linkat(fd, newdirfd, newname) -> 0: a new name for the object an O_PATH fd names
// (AT_EMPTY_PATH: needs CAP_DAC_READ_SEARCH; an O_TMPFILE file made without O_EXCL too).
Napi::Value Linkat(const Napi::CallbackInfo& info) {
  std::string newName = ArgName(info, 2);
  int r = linkat(ArgInt(info, 0), "", ArgInt(info, 1), newName.c_str(), AT_EMPTY_PATH);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// fsync(fd, datasync) -> 0: fdatasync when datasync is non-zero.
Napi::Value Fsync(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0);
  int r = ArgInt(info, 1) ? fdatasync(fd) : fsync(fd);
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// flushFd(fd) -> 0 or -errno: a FLUSH's close(dup(fd)) (write.h FlushFd).
Napi::Value FlushFdJs(const Napi::CallbackInfo& info) {
  return Result(info.Env(), FlushFd(ArgInt(info, 0)));
}

// fallocate(fd, mode, offset: bigint, length: bigint) -> 0 (FALLOC_FL_* as FUSE passes them)
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  int64_t off = ArgBigI64(info, 2, "offset");
  int64_t len = ArgBigI64(info, 3, "length");
  return fallocate(ArgInt(info, 0), ArgInt(info, 1), off, len) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// copyFileRange(fdIn, offIn: bigint, fdOut, offOut: bigint, len, flags) -> bytes copied
Napi::Value CopyFileRange(const Napi::CallbackInfo& info) {
  loff_t offIn = ArgBigI64(info, 1, "offIn");
  loff_t offOut = ArgBigI64(info, 3, "offOut");
  ssize_t n = copy_file_range(ArgInt(info, 0), &offIn, ArgInt(info, 2), &offOut, static_cast<size_t>(ArgI64(info, 4)),
                              ArgU32(info, 5));
  return n < 0 ? Errno(info.Env()) : Result(info.Env(), n);
}

// setxattr(fd, name, value: Uint8Array, flags) -> 0, through /proc/self/fd/N (fsetxattr
// refuses O_PATH fds). flags: XATTR_CREATE / XATTR_REPLACE.
Napi::Value Setxattr(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  std::string name = ArgName(info, 1);
  Bytes v = ArgBytes(info, 2);
  int r = setxattr(path.c_str(), name.c_str(), v.data, v.length, ArgInt(info, 3));
  return r < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// removexattr(fd, name) -> 0, through /proc/self/fd/N.
Napi::Value Removexattr(const Napi::CallbackInfo& info) {
  std::string path = ProcFdPath(ArgInt(info, 0));
  std::string name = ArgName(info, 1);
  return removexattr(path.c_str(), name.c_str()) < 0 ? Errno(info.Env()) : Result(info.Env(), 0);
}

// The thread's own credentials, saved at the first switch, to go back to.
struct SavedCreds {
  bool saved = false;
  uid_t fsuid = 0;
  gid_t fsgid = 0;
  std::vector<gid_t> groups;
};
thread_local SavedCreds saved;

void SaveCreds() {
  if (saved.saved) return;
  saved.fsuid = static_cast<uid_t>(syscall(SYS_setfsuid, -1));  // -1: no change, returns the current
  saved.fsgid = static_cast<gid_t>(syscall(SYS_setfsgid, -1));
  int n = getgroups(0, nullptr);
  saved.groups.resize(n > 0 ? n : 0);
  if (n > 0) getgroups(n, saved.groups.data());
  saved.saved = true;
}

// Apply fsuid, fsgid and the group list to this thread; 0 or -errno (EPERM when one did not take).
int ApplyCreds(uid_t uid, gid_t gid, const gid_t* groups, size_t n) {
  if (syscall(SYS_setgroups, n, groups) < 0) return -errno;
  // setfsuid/setfsgid report the previous id and never an error: ask again to see it took.
  syscall(SYS_setfsgid, gid);
  if (static_cast<gid_t>(syscall(SYS_setfsgid, -1)) != gid) return -EPERM;
  syscall(SYS_setfsuid, uid);
  if (static_cast<uid_t>(syscall(SYS_setfsuid, -1)) != uid) return -EPERM;
  return 0;
}

// setCreds(uid, gid, groups: Uint32Array) -> 0: this thread's filesystem ids become the
// caller's (new files belong to them, permission checks are theirs) until restoreCreds().
Napi::Value SetCreds(const Napi::CallbackInfo& info) {
  SaveCreds();
  auto g = info[2].As<Napi::Uint32Array>();
  std::vector<gid_t> groups(g.Data(), g.Data() + g.ElementLength());
  int r = ApplyCreds(ArgU32(info, 0), ArgU32(info, 1), groups.data(), groups.size());
  return Result(info.Env(), r);
}

// restoreCreds() -> 0: back to the ids this thread had before its first setCreds.
Napi::Value RestoreCreds(const Napi::CallbackInfo& info) {
  if (!saved.saved) return Result(info.Env(), 0);
  return Result(info.Env(), ApplyCreds(saved.fsuid, saved.fsgid, saved.groups.data(), saved.groups.size()));
}

// umask(mask) -> the previous mask (the process's: threads share it; see ops/creds.ts).
Napi::Value Umask(const Napi::CallbackInfo& info) {
  return Result(info.Env(), umask(static_cast<mode_t>(ArgU32(info, 0))));
}

}  // namespace

void InitWriteops(Napi::Env env, Napi::Object exports) {
  exports.Set("pwrite", Napi::Function::New(env, Pwrite));
  exports.Set("ftruncate", Napi::Function::New(env, Ftruncate));
  exports.Set("chmod", Napi::Function::New(env, Chmod));
  exports.Set("chown", Napi::Function::New(env, Chown));
  exports.Set("utimens", Napi::Function::New(env, Utimens));
  exports.Set("mkdirat", Napi::Function::New(env, Mkdirat));
  exports.Set("mknodat", Napi::Function::New(env, Mknodat));
  exports.Set("symlinkat", Napi::Function::New(env, Symlinkat));
  exports.Set("unlinkat", Napi::Function::New(env, Unlinkat));
  exports.Set("renameat2", Napi::Function::New(env, Renameat2));
  exports.Set("linkat", Napi::Function::New(env, Linkat));
  exports.Set("fsync", Napi::Function::New(env, Fsync));
  exports.Set("flushFd", Napi::Function::New(env, FlushFdJs));
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
  exports.Set("copyFileRange", Napi::Function::New(env, CopyFileRange));
  exports.Set("setxattr", Napi::Function::New(env, Setxattr));
  exports.Set("removexattr", Napi::Function::New(env, Removexattr));
  exports.Set("setCreds", Napi::Function::New(env, SetCreds));
  exports.Set("restoreCreds", Napi::Function::New(env, RestoreCreds));
  exports.Set("umask", Napi::Function::New(env, Umask));
}

}  // namespace splicefs
