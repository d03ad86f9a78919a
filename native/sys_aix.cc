// AIX and IBM i (PASE; gyp flavour "os400", CMake system name OS400). binding.gyp and CMakeLists.txt
// compile this file instead of sys_linux.cc there.
//
// WRITTEN FROM DOCUMENTATION ONLY: neither AIX nor IBM i is available to this project, so this file
// has never been compiled by an AIX or PASE compiler nor run on those systems. Its sources:
//   * seed 000 / libuv issue 3481 (AIX 7.2, IBM i 7.3 / 7.4): when the peer resets a connection the
//     socket enters an error state at once (SO_ERROR = ECONNRESET (73 there), getsockname() fails
//     with EINVAL) while bytes received before the reset stay readable;
//   * libuv commit 5ec89b8c5 (1.44.2): on IBM i fstat() fails with EINVAL in that state too;
//   * libuv PRs 539 / 748: on AIX, getsockname() of an AF_UNIX socket succeeds but fills nothing
//     (address length 0);
//   * libuv issue 3494 / PR 2782 (IBM i's shutdown() documentation): after shutdown(SHUT_WR), read()
//     can fail with ECONNRESET (handled in TypeScript, by the lingering drain).
// It uses only POSIX calls, so CI compiles and runs it on Linux as a check of its C++ and its logic
// (test/aix/aix-layer.test.ts, under the AIX error-state emulation); that check cannot catch a
// difference in AIX's headers.
//
// What this layer gathers, and what src/platform/aix.ts makes of it:
//   * kProbeSockname: getsockname()'s errno. EINVAL on a TCP socket is the error state: the only
//     non-destructive sign of a reset there (SO_ERROR is cleared when read, as elsewhere).
//   * kProbeDescribe: family, type, listening; the family stays unknown in the error state.
//   * kProbeUnread: FIONREAD, which keeps answering in the error state (the bytes are readable).
//   * kProbeTcp, kProbeQueues: nothing. Neither system documents TCP_INFO or a send-queue ioctl
//     for unprivileged processes, so state and queues are reported unknown rather than guessed.
#include "sys.h"
#include "sys_posix.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace sockclose {
namespace sys {
namespace platform {

int LingerOption() { return SO_LINGER; }  // l_linger in seconds, as POSIX says.

// Family from getsockname(), which fails in the error state and so leaves the family unknown
// there (src/target.ts takes an unknown family on a stream socket for TCP; kProbeSockname reports
// the errno itself). An AF_UNIX socket answered with no address (length 0) is taken for AF_UNIX.
int Describe(int fd, double* probe) { return posix::DescribeBySockname(fd, probe); }

// No TCP_INFO: the state and counters stay unknown (-1).
int ProbeTcp(int, double*) { return 0; }

int ProbeUnread(int fd, double* probe) { return posix::UnreadByFionread(fd, probe); }

// No documented unprivileged way to read the send queue: unknown.
int ProbeQueues(int, double*) { return 0; }
double SendQueueMeter(int, bool* fin_acked) {
  *fin_acked = false;
  return -1;
}
// Never asked: with the send queue unknown the lingerer waits for no acknowledgement.
bool ConnectionClosed(int) { return false; }
// No TCP_INFO: the lingerer reads.
PeerState PeerAfterRead(int, double, double, double* unacked) {
  *unacked = -1;
  return kPeerUnknown;
}

// AIX's poll() has no POLLRDHUP; POLLERR and POLLHUP are reported without being asked for.
int PollEvents() { return POLLIN | POLLOUT; }

int NativeToRevents(int revents) {
  return ((revents & POLLIN) ? kReventIn : 0) | ((revents & POLLOUT) ? kReventOut : 0) |
         ((revents & POLLERR) ? kReventErr : 0) | ((revents & POLLHUP) ? kReventHup : 0);
}

// A negative l_linger, as POSIX leaves it: the kernel's own readback of what was set.
bool LingerUnbounded(int seconds) { return seconds < 0; }

}  // namespace platform
}  // namespace sys
}  // namespace sockclose
