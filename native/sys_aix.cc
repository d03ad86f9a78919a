// AIX and IBM i (PASE, gyp flavour "os400"). Written from IBM's documentation and the reports in
// libuv issues 3481 and 3494; not compiled or run on this project's CI.
//
// What differs from other Unixes: once the peer resets a connection the socket enters an error
// state at once (SO_ERROR = ECONNRESET, getsockname() fails with EINVAL) while bytes received before
// the reset stay readable. getsockname() is the non-destructive sign of that state; the probe
// reports its errno (ProbeField::kSockname) and src/platform/aix.ts interprets it.
#include "sys.h"
#include "sys_posix.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace sockclose {
namespace sys {
namespace platform {

int LingerOption() { return SO_LINGER; }

// getsockname() fails in the error state, leaving the family unknown; type and SO_ACCEPTCONN
// still answer.
int Describe(int fd, double* probe) { return posix::DescribeBySockname(fd, probe); }

// Neither AIX nor IBM i offers TCP_INFO to an unprivileged process: the state stays unknown.
// (IBM i's other difference, read() failing with ECONNRESET after our own shutdown(SHUT_WR) as
// in libuv issue 3494, concerns reads and is handled by the lingering drain in TypeScript.)
int ProbeTcp(int, double*) { return 0; }

int ProbeUnread(int fd, double* probe) { return posix::UnreadByFionread(fd, probe); }

int ProbeQueues(int, double*) { return 0; }

int PollEvents() { return POLLIN | POLLOUT; }

int NativeToRevents(int revents) {
  return ((revents & POLLIN) ? kReventIn : 0) | ((revents & POLLOUT) ? kReventOut : 0) |
         ((revents & POLLERR) ? kReventErr : 0) | ((revents & POLLHUP) ? kReventHup : 0);
}

}  // namespace platform
}  // namespace sys
}  // namespace sockclose
