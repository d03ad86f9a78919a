// macOS and the BSDs. Written from the systems' documentation and headers; not compiled or run on
// this project's CI (see the README's platform table).
//
// Their SO_ERROR is destructive too (so_error is cleared on read), and poll() does not report a
// pending error as POLLERR, so a non-destructive peek can only read the TCP state.
#include "sys.h"
#include "sys_posix.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/tcp_fsm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sockclose {
namespace sys {
namespace platform {
namespace {

// BSD TCPS_* numbering to the probe's (Linux) numbering.
double FromBsdState(int state) {
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
int NotTcpUnlessNotASocket() {
  const int result = posix::LastError();
  return posix::IsNotASocket(result) ? result : 0;
}

}  // namespace

#if defined(__APPLE__)
// ---- macOS: SO_LINGER counts in clock ticks; SO_LINGER_SEC in seconds. TCP_CONNECTION_INFO. ----

int LingerOption() { return SO_LINGER_SEC; }

int ProbeTcp(int fd, double* probe) {
  struct tcp_connection_info info;
  std::memset(&info, 0, sizeof info);
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, &info, &length) != 0) {
    return NotTcpUnlessNotASocket();
  }
  probe[kSlotState] = FromBsdState(info.tcpi_state);
  probe[kSlotOptions] = info.tcpi_options;
  probe[kSlotRttMicros] = static_cast<double>(info.tcpi_srtt) * 1000;  // reported in ms
  probe[kSlotSendQueue] = info.tcpi_snd_sbbytes;                        // includes in-flight data
  probe[kSlotBytesSent] = static_cast<double>(info.tcpi_txbytes);
  probe[kSlotBytesReceived] = static_cast<double>(info.tcpi_rxbytes);
  probe[kSlotTotalRetransmits] = static_cast<double>(info.tcpi_txretransmitpackets);
  probe[kSlotSegsOut] = static_cast<double>(info.tcpi_txpackets);
  probe[kSlotSegsIn] = static_cast<double>(info.tcpi_rxpackets);
  return 0;
}

int ProbeQueues(int, double*) { return 0; }  // TCP_CONNECTION_INFO gave sendQueue; no split.

#elif defined(__FreeBSD__) || defined(__DragonFly__)
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
// ---- NetBSD, OpenBSD: no TCP state for unprivileged callers; FIONWRITE where defined. ----

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
