// The socket a mount helper (fusermount3) talks over: a socketpair, and the receipt of the
// /dev/fuse fd it sends back as SCM_RIGHTS ancillary data. Executes only: which helper to run,
// with what, and how long to wait, is decided in src/mnt/fusermount.ts.
#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace splicefs {
namespace {

// socketpair(out): an AF_UNIX SOCK_STREAM pair, both ends close-on-exec (the helper's end
// reaches it through spawn's stdio mapping, which dup2()s it to a fixed number without
// close-on-exec). out: Int32Array(2) receives [ours, theirs]. Returns 0 or -errno.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  auto out = ArgTyped<int32_t>(info, 0, 2, "out");
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return Errno(info.Env());
  out[0] = fds[0];
  out[1] = fds[1];
  return Result(info.Env(), 0);
}

// recvFd(sock): one non-blocking recvmsg of at least one byte with SCM_RIGHTS. Returns the fd
// received (close-on-exec, and made O_NONBLOCK as the server's own /dev/fuse fds are), -EAGAIN
// when nothing is there yet, -ECONNRESET when the peer closed without sending one (EOF),
// -EBADMSG for a message without an fd (any fds beyond the first are closed).
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  int sock = ArgInt(info, 0);
  char byte;
  struct iovec iov = {&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(info.Env());
  if (n == 0) return Result(info.Env(), -ECONNRESET);
  int fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; i++) {
      if (fd < 0) fd = fds[i];
      else close(fds[i]);
    }
  }
  if (fd < 0) return Result(info.Env(), -EBADMSG);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    close(fd);
    return Result(info.Env(), -e);
  }
  return Result(info.Env(), fd);
}

}  // namespace

void InitCommFd(Napi::Env env, Napi::Object exports) {
  exports.Set("socketpair", Napi::Function::New(env, SocketPair));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
}

}  // namespace splicefs
