// macOS and the BSDs. WRITTEN FROM DOCUMENTATION ONLY: the systems' headers (xnu's netinet/tcp.h
// for struct tcp_connection_info, FreeBSD's netinet/tcp.h for struct tcp_info) and manual pages;
// not compiled or run on this project's CI, which is Linux (see docs/aix.md's platform table).
//
// Their SO_ERROR is destructive too (so_error is cleared on read), and poll() does not report a
// pending error as POLLERR, so a non-destructive peek can only read the TCP state.
//
// DragonFly BSD (gyp calls it freebsd) and NetBSD / OpenBSD get the conservative branch: their
// struct tcp_info, where it exists, is not FreeBSD's, so no field is read from it.
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

// getsockopt(IPPROTO_TCP) on a non-TCP socket fails with an error that only means "not TCP".
[[maybe_unused]] int NotTcpUnlessNotASocket() {
  const int result = posix::LastError();
  return posix::IsNotASocket(result) ? result : 0;
}

}  // namespace

#if defined(__APPLE__)
// ---- macOS: SO_LINGER counts in clock ticks; SO_LINGER_SEC in seconds. TCP_CONNECTION_INFO. ----

int LingerOption() { return SO_LINGER_SEC; }

namespace {

// TCP_CONNECTION_INFO into *info; 1 if filled, 0 if not TCP, or -errno if fd is not a socket.
int ConnectionInfo(int fd, struct tcp_connection_info* info, socklen_t* length) {
  std::memset(info, 0, sizeof *info);
  *length = sizeof *info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, info, length) != 0) return NotTcpUnlessNotASocket();
  return 1;
}

}  // namespace

int ProbeTcp(int fd, double* probe) {
  struct tcp_connection_info info;
  socklen_t length = 0;
  const int filled = ConnectionInfo(fd, &info, &length);
  if (filled <= 0) return filled;
  probe[kSlotState] = FromBsdState(info.tcpi_state);
  probe[kSlotOptions] = info.tcpi_options;
  probe[kSlotRttMicros] = static_cast<double>(info.tcpi_srtt) * 1000;  // reported in ms
  probe[kSlotSendQueue] = info.tcpi_snd_sbbytes;                        // unsent + unacked
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
  const int filled = ConnectionInfo(fd, &info, &length);
  if (filled <= 0) return filled;
  probe[kSlotSendQueue] = info.tcpi_snd_sbbytes;
  return 0;
}

#elif defined(__FreeBSD__)
// ---- FreeBSD: TCP_INFO (a smaller struct than Linux's), FIONWRITE for the send queue. ----

int LingerOption() { return SO_LINGER; }

int ProbeTcp(int fd, double* probe) {
  struct tcp_info info;
  std::memset(&info, 0, sizeof info);
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return NotTcpUnlessNotASocket();
  probe[kSlotState] = FromBsdState(info.tcpi_state);
  probe[kSlotOptions] = info.tcpi_options;
  probe[kSlotRttMicros] = info.tcpi_rtt;
  probe[kSlotTotalRetransmits] = info.tcpi_snd_rexmitpack;
  return 0;
}

int ProbeQueues(int fd, double* probe) {
  int queued = 0;
  if (ioctl(fd, FIONWRITE, &queued) == 0) probe[kSlotSendQueue] = queued;
  return 0;
}

#else
// ---- NetBSD, OpenBSD, DragonFly: no TCP state read; FIONWRITE where defined. ----

int LingerOption() { return SO_LINGER; }

int ProbeTcp(int, double*) { return 0; }

int ProbeQueues(int fd, double* probe) {
#ifdef FIONWRITE
  int queued = 0;
  if (ioctl(fd, FIONWRITE, &queued) == 0) probe[kSlotSendQueue] = queued;
#else
  (void)fd;
  (void)probe;
#endif
  return 0;
}

#endif

int Describe(int fd, double* probe) { return posix::DescribeBySockname(fd, probe); }

int ProbeUnread(int fd, double* probe) { return posix::UnreadByFionread(fd, probe); }

int PollEvents() { return POLLIN | POLLOUT; }

int NativeToRevents(int revents) {
  return ((revents & POLLIN) ? kReventIn : 0) | ((revents & POLLOUT) ? kReventOut : 0) |
         ((revents & POLLERR) ? kReventErr : 0) | ((revents & POLLHUP) ? kReventHup : 0);
}

}  // namespace platform
}  // namespace sys
}  // namespace sockclose
