// What every Unix shares: SO_LINGER, SO_ERROR, shutdown, close, and the order of a probe.
#include "sys.h"
#include "sys_posix.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace sockclose {
namespace sys {

int SetLinger(int fd, bool enabled, int seconds) {
  struct linger value;
  value.l_onoff = enabled ? 1 : 0;
  value.l_linger = enabled ? seconds : 0;
  if (setsockopt(fd, SOL_SOCKET, platform::LingerOption(), &value, sizeof value) != 0) {
    return posix::LastError();
  }
  return 0;
}

int GetLinger(int fd, bool* enabled, int* seconds) {
  struct linger value = {0, 0};
  socklen_t length = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, platform::LingerOption(), &value, &length) != 0) {
    return posix::LastError();
  }
  *enabled = value.l_onoff != 0;
  // Disabled: the time means nothing (Linux keeps the last one set). Enabled: a time without limit
  // (a negative l_linger set by other code) reads back as the platform says (LingerUnbounded()).
  *seconds = !*enabled ? 0 : platform::LingerUnbounded(value.l_linger) ? kLingerUnbounded : value.l_linger;
  return 0;
}

int TakeError(int fd, int* error) { return posix::GetIntOption(fd, SOL_SOCKET, SO_ERROR, error); }

int ShutdownWrite(int fd) { return shutdown(fd, SHUT_WR) == 0 ? 0 : posix::LastError(); }

int Close(int fd) {
  // Never retried: after EINTR the descriptor is already gone on Linux, and may be reused.
  return close(fd) == 0 ? 0 : posix::LastError();
}

int DupCloexec(int fd) {
#ifdef F_DUPFD_CLOEXEC
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return copy >= 0 ? copy : posix::LastError();
#else
  // Older systems: a window in which a fork+exec elsewhere could inherit it; no thread of ours
  // execs, and the descriptor lives only as long as one linger.
  const int copy = dup(fd);
  if (copy < 0) return posix::LastError();
  if (fcntl(copy, F_SETFD, FD_CLOEXEC) != 0) {
    const int error = posix::LastError();
    close(copy);
    return error;
  }
  return copy;
#endif
}

// Never waits, whatever the descriptor's file status flags say: O_NONBLOCK belongs to the open file
// description, which every copy of the socket shares (Node's, ours, a child's), and anyone may
// clear it: libuv's uv_spawn() does, for a socket given to a child as its stdin, stdout or stderr.
// The lingerer reads without asking the poller first (its first read, the last read before a
// deadline, a cut): a blocking read there would stop the loop's thread until the peer sent
// something, past every timeout. recv() also refuses a descriptor that is not a socket.
#if defined(MSG_DONTWAIT)
constexpr int kRecvNoWait = MSG_DONTWAIT;
#elif defined(MSG_NONBLOCK)
constexpr int kRecvNoWait = MSG_NONBLOCK;  // AIX's name for it
#else
constexpr int kRecvNoWait = 0;  // then as the descriptor's flags say
#endif

long Read(int fd, void* buffer, unsigned long length) {
  ssize_t count;
  do {
    count = recv(fd, buffer, length, kRecvNoWait);
  } while (count < 0 && errno == EINTR);
  return count >= 0 ? static_cast<long>(count) : posix::LastError();
}

namespace {

// poll(2) with no wait, retried on EINTR: the native revents, or -errno (-EBADF for POLLNVAL).
int PollNative(int fd, int* revents) {
  struct pollfd entry;
  entry.fd = fd;
  entry.events = static_cast<short>(platform::PollEvents());
  entry.revents = 0;
  int result;
  do {
    result = poll(&entry, 1, 0);
  } while (result < 0 && errno == EINTR);
  if (result < 0) return posix::LastError();
  if (entry.revents & POLLNVAL) return -EBADF;
  *revents = entry.revents;
  return 0;
}

}  // namespace

int PollRevents(int fd) {
  if (fd < 0) return -EBADF;
  int revents = 0;
  const int result = PollNative(fd, &revents);
  return result < 0 ? result : platform::NativeToRevents(revents);
}

int ResetHints(int fd) {
  if (fd < 0) return -EBADF;
  bool enabled = false;
  int seconds = 0;
  // As in Probe(): only "not a socket" fails; another failure leaves the linger unknown (absent).
  const int result = GetLinger(fd, &enabled, &seconds);
  if (posix::IsNotASocket(result)) return result;
  // Only the three slots read below: the others are written by ProbeTcp() and never read.
  double facts[kProbeSlotCount];
  facts[kSlotUnread] = -1;
  facts[kSlotState] = -1;
  facts[kSlotUnsent] = -1;
  int status = platform::ProbeUnread(fd, facts);
  if (status < 0) return status;
  const int hints = (result == 0 && enabled && seconds == 0 ? kResetHintAbortive : 0) |
                    (facts[kSlotUnread] > 0 ? kResetHintUnread : 0);
  if (hints == 0) return 0;
  status = platform::ProbeTcp(fd, facts);
  if (status < 0) return status;
  const int state = facts[kSlotState] > 0 ? static_cast<int>(facts[kSlotState]) : 0;
  return hints | (facts[kSlotUnsent] > 0 ? kResetHintUnsent : 0) | (state << kResetHintStateShift);
}

int Probe(int fd, unsigned fields, double* probe) {
  for (int i = 0; i < kProbeSlotCount; i++) probe[i] = -1;
  if (fd < 0) return -EBADF;

  // A probe must prove the descriptor is a socket before trusting calls (poll, FIONREAD) that also
  // succeed on files: the getsockopt-based groups do, so make sure one of them runs first.
  if ((fields & (kProbeDescribe | kProbeTcp | kProbeLinger)) == 0) fields |= kProbeDescribe;

  int result = 0;
  if (fields & kProbeDescribe) {
    result = platform::Describe(fd, probe);
    if (result < 0) return result;
  }
  if (fields & kProbeLinger) {
    bool enabled = false;
    int seconds = 0;
    result = GetLinger(fd, &enabled, &seconds);
    if (posix::IsNotASocket(result)) return result;
    if (result == 0) {
      probe[kSlotLingerEnabled] = enabled ? 1 : 0;
      probe[kSlotLingerSeconds] = seconds == kLingerUnbounded ? HUGE_VAL : static_cast<double>(seconds);
    }
  }
  if (fields & kProbeTcp) {
    result = platform::ProbeTcp(fd, probe);
    if (result < 0) return result;
  }
  if (fields & kProbePoll) {
    int revents = 0;
    result = PollNative(fd, &revents);
    if (result < 0) return result;
    probe[kSlotRevents] = platform::NativeToRevents(revents);
    // A reset that lands between TCP_INFO and poll() leaves a record with the error but the state
    // from before it: the kernel sets the error, then CLOSE, both under the socket's spinlock.
    // Read the state again so that the record describes one moment. Linux's TCP_INFO reads the
    // state before taking that lock, so one re-read can still land mid-reset; the second comes
    // after the first took the lock, so after the reset was done. Only on this rare path; an
    // error that is not fatal (an error-queue entry) keeps its state and stays unnamed.
    for (int again = 0; again < 2 && (fields & kProbeTcp) && (revents & POLLERR) &&
                        probe[kSlotState] >= 0 && probe[kSlotState] != kTcpClose;
         again++) {
      result = platform::ProbeTcp(fd, probe);
      if (result < 0) return result;
    }
  }
  if (fields & kProbeUnread) {
    result = platform::ProbeUnread(fd, probe);
    if (result < 0) return result;
  }
  if (fields & kProbeQueues) {
    result = platform::ProbeQueues(fd, probe);
    if (result < 0) return result;
  }
  if (fields & kProbeSockname) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    address.ss_family = AF_UNSPEC;
    if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == 0) {
      probe[kSlotSocknameErrno] = 0;
      // Without kProbeDescribe (a Node socket, already known to be a stream socket) the family
      // comes from here, at no extra syscall. No address at all is an unnamed AF_UNIX socket.
      if (probe[kSlotFamily] < 0) {
        probe[kSlotFamily] = posix::FamilyOf(length == 0 ? AF_UNIX : address.ss_family);
      }
    } else {
      result = posix::LastError();
      if (posix::IsNotASocket(result)) return result;
      probe[kSlotSocknameErrno] = -result;
    }
  }
  return 0;
}

namespace posix {

int GetIntOption(int fd, int level, int name, int* value) {
  socklen_t length = sizeof *value;
  *value = 0;
  return getsockopt(fd, level, name, value, &length) == 0 ? 0 : LastError();
}

int DescribeBySockname(int fd, double* probe) {
  int type = 0;
  int result = GetIntOption(fd, SOL_SOCKET, SO_TYPE, &type);
  if (result < 0) return result;
  probe[kSlotType] = type == SOCK_STREAM ? kTypeStream : type == SOCK_DGRAM ? kTypeDgram : kTypeOther;

  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  address.ss_family = AF_UNSPEC;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == 0) {
    // An unnamed AF_UNIX socket may come back with no address at all (length 0, as libuv notes for
    // DragonFly); only AF_UNIX does that to a stream socket.
    const int family = length == 0 && type == SOCK_STREAM ? AF_UNIX : address.ss_family;
    probe[kSlotFamily] = FamilyOf(family);
  }  // else: unknown. On AIX this is the error state, which the caller reads from socknameErrno.

#ifdef SO_ACCEPTCONN
  int listening = 0;
  if (GetIntOption(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening) == 0) {
    probe[kSlotListening] = listening ? 1 : 0;
  }
#endif
  return 0;
}

int UnreadByFionread(int fd, double* probe) {
  // A failure leaves the fact unknown: Probe() proved the descriptor is a socket beforehand.
  int unread = 0;
  if (ioctl(fd, FIONREAD, &unread) == 0) probe[kSlotUnread] = unread;
  return 0;
}

}  // namespace posix
}  // namespace sys
}  // namespace sockclose
