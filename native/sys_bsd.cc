// macOS and the BSDs. Written from the systems' headers and kernel sources (xnu's netinet/tcp.h and
// tcp_usrreq.c for struct tcp_connection_info, FreeBSD's netinet/tcp.h and tcp_usrreq.c for struct
// tcp_info) and their manual pages. Never run by this project's CI, which is Linux; compiled on every
// change by `npm run check:platforms` (macOS x86_64 and arm64 with Apple's libc headers, linked and
// its imports audited; the FreeBSD and generic branches against stand-in headers): see the README's
// platform table.
//
// Their SO_ERROR is destructive too (so_error is cleared on read), and poll() does not report a
// pending error as POLLERR, so a non-destructive peek can only read the TCP state.
//
// DragonFly BSD (gyp calls it freebsd) and NetBSD / OpenBSD get the conservative branch: their
// struct tcp_info, where it exists, is not FreeBSD's, so no field is read from it.
//
// One meaning on every platform, as on Linux: each fact is reported only where it means what the
// probe's slot says (probe.h), and is otherwise left unknown (-1):
//   * a failed TCP_INFO / TCP_CONNECTION_INFO with ECONNRESET is a connection that is gone (both
//     kernels answer so for a dropped connection, FreeBSD up to 13.x for TIME_WAIT too): CLOSE;
//   * counters only where the kernel fills them (xnu: past LISTEN), RTT only when measured;
//   * tcpi_options only in the bits that mean what Linux's TCPI_OPT_* mean (0x01-0x08);
//   * the send queue only for TCP (FIONWRITE also answers for AF_UNIX, where Linux reports nothing).
#include "sys.h"
#include "sys_posix.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/tcp_fsm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace sockclose {
namespace sys {
namespace platform {
namespace {

// BSD TCPS_* numbering to the probe's (Linux) numbering. [[maybe_unused]]: the NetBSD / OpenBSD
// branch reads no state, and an unused function must not fail a -Werror build there.
[[maybe_unused]] double FromBsdState(int state) {
  switch (state) {
    case TCPS_CLOSED: return kTcpClose;
    case TCPS_LISTEN: return kTcpListen;
    case TCPS_SYN_SENT: return kTcpSynSent;
    case TCPS_SYN_RECEIVED: return kTcpSynRecv;
    case TCPS_ESTABLISHED: return kTcpEstablished;
    case TCPS_CLOSE_WAIT: return kTcpCloseWait;
    case TCPS_FIN_WAIT_1: return kTcpFinWait1;
    case TCPS_CLOSING: return kTcpClosing;
    case TCPS_LAST_ACK: return kTcpLastAck;
    case TCPS_FIN_WAIT_2: return kTcpFinWait2;
    case TCPS_TIME_WAIT: return kTcpTimeWait;
    default: return -1;
  }
}

// The TCP_INFO / TCP_CONNECTION_INFO bits that mean what Linux's TCPI_OPT_* of the same value
// mean (timestamps, SACK, window scaling, ECN). Above them FreeBSD has TOE 0x10 and TFO 0x20
// where Linux has ECN_SEEN and SYN_DATA: reported they would read as the Linux meaning.
[[maybe_unused]] constexpr unsigned kSharedOptionBits = 0x0F;

// A failed getsockopt(IPPROTO_TCP): -errno when fd is not a socket (the probe fails); otherwise 0,
// and the state CLOSE when the kernel said ECONNRESET. FreeBSD's tcp_ctloutput answers ECONNRESET
// for a dropped connection (reset, or timed out) and, up to 13.x, for one in TIME_WAIT; xnu's for
// a socket whose protocol block is gone. Both mean no connection is left to reset: CLOSE rather
// than "not TCP", which would read as unknown, still resettable. Any other error (ENOPROTOOPT,
// EOPNOTSUPP, EINVAL on a non-TCP socket) only means "not TCP": the facts stay unknown.
[[maybe_unused]] int TcpInfoFailed(double* probe) {
  const int result = posix::LastError();
  if (posix::IsNotASocket(result)) return result;
  if (result == -ECONNRESET) probe[kSlotState] = kTcpClose;
  return 0;
}

// Whether fd is a TCP socket: TCP_NODELAY exists at IPPROTO_TCP only there.
[[maybe_unused]] bool IsTcp(int fd) {
  int value = 0;
  return posix::GetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, &value) == 0;
}

}  // namespace

#if defined(__APPLE__)
// ---- macOS: SO_LINGER counts in clock ticks; SO_LINGER_SEC in seconds. TCP_CONNECTION_INFO. ----

int LingerOption() { return SO_LINGER_SEC; }

namespace {

// TCP_CONNECTION_INFO into *info; 1 if filled, 0 if not (see TcpInfoFailed), or -errno if fd is
// not a socket.
int ConnectionInfo(int fd, struct tcp_connection_info* info, socklen_t* length, double* probe) {
  std::memset(info, 0, sizeof *info);
  *length = sizeof *info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, info, length) != 0) return TcpInfoFailed(probe);
  return 1;
}

// xnu's tcp_connection_fill_info() writes the state always, everything else only past LISTEN:
// for a CLOSED or LISTEN socket the counters are zeros it did not measure.
bool HasCounters(const struct tcp_connection_info& info) { return info.tcpi_state > TCPS_LISTEN; }

}  // namespace

int ProbeTcp(int fd, double* probe) {
  struct tcp_connection_info info;
  socklen_t length = 0;
  const int filled = ConnectionInfo(fd, &info, &length, probe);
  if (filled <= 0) return filled;
  probe[kSlotState] = FromBsdState(info.tcpi_state);
  if (!HasCounters(info)) return 0;
  probe[kSlotOptions] = info.tcpi_options & kSharedOptionBits;
  // Whole milliseconds: 0 means "under 1 ms" (every loopback connection) as much as "never
  // measured", so it is left unknown; any other value is exact to the millisecond only.
  if (info.tcpi_srtt > 0) probe[kSlotRttMicros] = static_cast<double>(info.tcpi_srtt) * 1000;
  probe[kSlotSendQueue] = info.tcpi_snd_sbbytes;  // unsent + unacked
  probe[kSlotBytesSent] = static_cast<double>(info.tcpi_txbytes);
  probe[kSlotBytesReceived] = static_cast<double>(info.tcpi_rxbytes);
  probe[kSlotSegsOut] = static_cast<double>(info.tcpi_txpackets);
  probe[kSlotSegsIn] = static_cast<double>(info.tcpi_rxpackets);
  // The last field, added after the others: an older kernel returns a shorter struct without it.
  if (length >= offsetof(struct tcp_connection_info, tcpi_txretransmitpackets) + sizeof info.tcpi_txretransmitpackets) {
    probe[kSlotTotalRetransmits] = static_cast<double>(info.tcpi_txretransmitpackets);
  }
  return 0;
}

// The send buffer holds data until it is acknowledged, so its byte count is unsent + unacked; there
// is no split. Filled here too (not only by ProbeTcp) because src/linger.ts asks for the queues
// alone while it waits for the peer to acknowledge.
int ProbeQueues(int fd, double* probe) {
  struct tcp_connection_info info;
  socklen_t length = 0;
  // A state learnt on the way (CLOSE after ECONNRESET) is not what this group asked for.
  const double state = probe[kSlotState];
  const int filled = ConnectionInfo(fd, &info, &length, probe);
  probe[kSlotState] = state;
  if (filled <= 0) return filled;
  if (HasCounters(info)) probe[kSlotSendQueue] = info.tcpi_snd_sbbytes;
  return 0;
}

#elif defined(__FreeBSD__)
// ---- FreeBSD: TCP_INFO (a smaller struct than Linux's), FIONWRITE for the send queue. ----

int LingerOption() { return SO_LINGER; }

int ProbeTcp(int fd, double* probe) {
  struct tcp_info info;
  std::memset(&info, 0, sizeof info);
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return TcpInfoFailed(probe);
  probe[kSlotState] = FromBsdState(info.tcpi_state);
  // tcp_fill_info() fills every field in every state; the RTT (microseconds) stays 0 until the
  // first measurement, and 0 is reported unknown, as on macOS.
  probe[kSlotOptions] = info.tcpi_options & kSharedOptionBits;
  if (info.tcpi_rtt > 0) probe[kSlotRttMicros] = info.tcpi_rtt;
  probe[kSlotTotalRetransmits] = info.tcpi_snd_rexmitpack;
  return 0;
}

// FIONWRITE: bytes in the send buffer (unsent + unacked) for TCP. Asked for TCP only: on AF_UNIX it
// answers too, with a different meaning, where Linux reports nothing.
int ProbeQueues(int fd, double* probe) {
  int queued = 0;
  if (IsTcp(fd) && ioctl(fd, FIONWRITE, &queued) == 0) probe[kSlotSendQueue] = queued;
  return 0;
}

#else
// ---- NetBSD, OpenBSD, DragonFly: no TCP state read; FIONWRITE where defined. ----

int LingerOption() { return SO_LINGER; }

int ProbeTcp(int, double*) { return 0; }

int ProbeQueues(int fd, double* probe) {
#ifdef FIONWRITE
  // As on FreeBSD: TCP only.
  int queued = 0;
  if (IsTcp(fd) && ioctl(fd, FIONWRITE, &queued) == 0) probe[kSlotSendQueue] = queued;
#else
  (void)fd;
  (void)probe;
#endif
  return 0;
}

#endif

int Describe(int fd, double* probe) { return posix::DescribeBySockname(fd, probe); }

int ProbeUnread(int fd, double* probe) { return posix::UnreadByFionread(fd, probe); }

// POLLRDHUP (the peer's FIN) where <poll.h> has it: FreeBSD 13.1 and later (poll(2)); not macOS,
// NetBSD, OpenBSD or DragonFly. A binary built with it asks for it on every kernel it runs on;
// FreeBSD releases before 13.1 are past their end of life.
#ifdef POLLRDHUP
constexpr int kPollRdHup = POLLRDHUP;
#else
constexpr int kPollRdHup = 0;
#endif

// The send queue as ProbeQueues() reads it (one call on every BSD branch above): bytes in the
// socket buffer, where a FIN takes no room (so it cannot tell whether ours was acknowledged).
double SendQueueMeter(int fd, bool* fin_acked) {
  *fin_acked = false;
  double probe[kProbeSlotCount];
  for (double& slot : probe) slot = -1;
  ProbeQueues(fd, probe);
  return probe[kSlotSendQueue];
}

// The BSDs empty the send buffer when a reset ends the connection (soisdisconnected()): the
// queue reads 0 then, and the lingerer never needs to ask.
bool ConnectionClosed(int) { return false; }

// FreeBSD's TCP_INFO gives rcv_nxt but not where the sequence began, Apple's TCP_CONNECTION_INFO
// a byte count not known to include the FIN: neither is checked against Node's count (no such
// kernel here to prove it on), so the lingerer reads.
PeerState PeerAfterRead(int, double, double, double* unacked) {
  *unacked = -1;
  return kPeerUnknown;
}

int PollEvents() { return POLLIN | POLLOUT | kPollRdHup; }

int NativeToRevents(int revents) {
  return ((revents & POLLIN) ? kReventIn : 0) | ((revents & POLLOUT) ? kReventOut : 0) |
         ((revents & POLLERR) ? kReventErr : 0) | ((revents & POLLHUP) ? kReventHup : 0) |
         ((kPollRdHup != 0 && (revents & kPollRdHup)) ? kReventRdHup : 0);
}

// A negative l_linger, as POSIX leaves it: the kernels' own readback of what was set.
bool LingerUnbounded(int seconds) { return seconds < 0; }

}  // namespace platform
}  // namespace sys
}  // namespace sockclose
