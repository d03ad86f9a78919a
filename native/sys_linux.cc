// Linux: TCP_INFO for state and counters, SIOCINQ / SIOCOUTQ / SIOCOUTQNSD for the queues,
// SO_DOMAIN for the family, POLLRDHUP for the peer's FIN.
//
// Linux's SO_ERROR is destructive (the kernel exchanges sk_err with 0), so nothing here reads it:
// poll() reports POLLERR while an error is pending and leaves it in place.
#include "sys.h"
#include "sys_posix.h"

// <linux/tcp.h> rather than <netinet/tcp.h>: glibc's struct tcp_info stops at older kernels' fields.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#ifndef SIOCOUTQNSD
#define SIOCOUTQNSD 0x894B  // Linux 2.6.38; older headers lack the name, not the ioctl.
#endif

namespace sockclose {
namespace sys {
namespace platform {
namespace {

// A kernel older than the headers returns a shorter struct: use a field only if it was filled.
#define SOCKCLOSE_HAS_FIELD(info_length, field) \
  ((info_length) >= offsetof(struct tcp_info, field) + sizeof(((struct tcp_info*)0)->field))

// Queue sizes are facts a socket may not have (a listening socket has no receive queue; AF_UNIX
// has no SIOCOUTQNSD and says ENOTTY): a failure leaves the fact unknown. Probe() has already
// proved the descriptor is a socket with a getsockopt before any ioctl runs.
bool QueueIoctl(int fd, unsigned long request, int* value) {
  *value = 0;
  return ioctl(fd, request, value) == 0;
}

}  // namespace

int LingerOption() { return SO_LINGER; }

// Linux stores a linger in jiffies, a negative l_linger as MAX_SCHEDULE_TIMEOUT (LONG_MAX), and
// reports LONG_MAX / HZ truncated to an int: negative for HZ 250, 300 and 1000 on 64-bit kernels,
// but 2,061,584,302 for HZ 100. No finite linger anyone sets is that long (65 years).
bool LingerUnbounded(int seconds) {
  // The low 32 bits, as the kernel's assignment to an int keeps them (bit 31 clear for HZ 100).
  constexpr int kHz100Unbounded = static_cast<int>((LONG_MAX / 100) & 0x7fffffffL);
  return seconds < 0 || (sizeof(long) > sizeof(int) && seconds == kHz100Unbounded);
}

int Describe(int fd, double* probe) {
  int domain = 0;
  int result = posix::GetIntOption(fd, SOL_SOCKET, SO_DOMAIN, &domain);
  if (result < 0) return result;
  probe[kSlotFamily] = posix::FamilyOf(domain);
  int type = 0;
  result = posix::GetIntOption(fd, SOL_SOCKET, SO_TYPE, &type);
  if (result < 0) return result;
  probe[kSlotType] = type == SOCK_STREAM ? kTypeStream : type == SOCK_DGRAM ? kTypeDgram : kTypeOther;
  int listening = 0;
  result = posix::GetIntOption(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening);
  if (result < 0) return result;
  probe[kSlotListening] = listening ? 1 : 0;
  return 0;
}

int ProbeTcp(int fd, double* probe) {
  struct tcp_info info;
  std::memset(&info, 0, sizeof info);
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
    const int result = posix::LastError();
    // Not TCP (AF_UNIX says EOPNOTSUPP, UDP ENOPROTOOPT): the TCP facts stay unknown.
    return posix::IsNotASocket(result) ? result : 0;
  }
  // Every field is read only if the kernel filled it: an old kernel, or an emulator (qemu-user
  // answers with 4 bytes), returns a shorter struct, and a zero it did not write is not a fact.
  // Linux's state numbering is the probe's numbering.
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_state)) probe[kSlotState] = info.tcpi_state;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_retransmits)) probe[kSlotRetransmits] = info.tcpi_retransmits;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_probes)) probe[kSlotProbes] = info.tcpi_probes;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_backoff)) probe[kSlotBackoff] = info.tcpi_backoff;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_options)) probe[kSlotOptions] = info.tcpi_options;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_rtt)) probe[kSlotRttMicros] = info.tcpi_rtt;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_total_retrans)) probe[kSlotTotalRetransmits] = info.tcpi_total_retrans;
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_bytes_acked)) {
    probe[kSlotBytesAcked] = static_cast<double>(info.tcpi_bytes_acked);
  }
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_bytes_received)) {
    probe[kSlotBytesReceived] = static_cast<double>(info.tcpi_bytes_received);
  }
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_segs_out)) {
    probe[kSlotSegsOut] = info.tcpi_segs_out;
    probe[kSlotSegsIn] = info.tcpi_segs_in;
  }
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_bytes_sent)) {
    probe[kSlotBytesSent] = static_cast<double>(info.tcpi_bytes_sent);
  }
  // The unsent count (write_seq - snd_nxt, as SIOCOUTQNSD gives it; Linux 4.6): whether an abortive
  // close in LAST_ACK or CLOSING resets (tcp_disconnect()) comes free with this call. A listening
  // socket's TCP_INFO has no such count; ProbeQueues(), run after this, reads the ioctl if asked.
  if (SOCKCLOSE_HAS_FIELD(length, tcpi_notsent_bytes) && info.tcpi_state != kTcpListen) {
    probe[kSlotUnsent] = info.tcpi_notsent_bytes;
  }
  return 0;
}

int ProbeUnread(int fd, double* probe) {
  int unread = 0;
  if (QueueIoctl(fd, SIOCINQ, &unread)) probe[kSlotUnread] = unread;
  return 0;
}

int ProbeQueues(int fd, double* probe) {
  int queued = 0;
  int unsent = 0;
  // AF_UNIX answers SIOCOUTQ with buffer memory rather than bytes and has no SIOCOUTQNSD: report
  // nothing there rather than a number that means something else.
  if (QueueIoctl(fd, SIOCOUTQ, &queued) && QueueIoctl(fd, SIOCOUTQNSD, &unsent)) {
    probe[kSlotSendQueue] = queued;
    probe[kSlotUnsent] = unsent;
    probe[kSlotUnacked] = queued - unsent;
  }
  return 0;
}

double SendQueueMeter(int fd, bool* fin_acked) {
  int queued = 0;
  *fin_acked = false;
  if (!QueueIoctl(fd, SIOCOUTQ, &queued)) return -1;
  // TCP's SIOCOUTQ is write_seq - snd_una, and our FIN took one sequence number: until the peer
  // acknowledges it, the count is our unacknowledged bytes plus one.
  *fin_acked = queued == 0;
  return queued > 0 ? queued - 1 : 0;
}

bool ConnectionClosed(int fd) {
  // tcpi_state is TCP_INFO's first byte, and the kernel copies only as much as asked for.
  uint8_t state = 0;
  socklen_t length = sizeof state;
  return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &state, &length) == 0 && length == sizeof state && state == kTcpClose;
}

PeerState PeerAfterRead(int fd, double read, double written, double* unacked) {
  *unacked = -1;
  struct tcp_info info;
  std::memset(&info, 0, sizeof info);
  // Only as far as bytes_sent: the kernel copies no more than asked for (and no more than it has).
  socklen_t length = offsetof(struct tcp_info, tcpi_bytes_sent) + sizeof info.tcpi_bytes_sent;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 || !SOCKCLOSE_HAS_FIELD(length, tcpi_bytes_received)) {
    return kPeerUnknown;  // Linux before 4.1 has neither count
  }
  // The counts follow rcv_nxt and snd_una, where a FIN takes one sequence number and a reset none.
  const double received = static_cast<double>(info.tcpi_bytes_received);
  const double acked = static_cast<double>(info.tcpi_bytes_acked);
  if (info.tcpi_state == kTcpClose) {
    // Not a reset (no FIN counted), nor a timeout after the peer's FIN (ours not all acknowledged).
    return received == read + 1 && acked == written + 1 ? kPeerDone : kPeerUnknown;
  }
  if (received != read) return kPeerUnknown;
  if (info.tcpi_state != kTcpFinWait1 && info.tcpi_state != kTcpFinWait2) return kPeerUnknown;
  if (info.tcpi_state == kTcpFinWait2) {
    *unacked = 0;  // our FIN is acknowledged, so is everything before it
  } else if (SOCKCLOSE_HAS_FIELD(length, tcpi_bytes_sent) && info.tcpi_notsent_bytes == 0 &&
             static_cast<double>(info.tcpi_bytes_sent) == written) {
    // FIN_WAIT1 (a peer's delayed ACK holds most silent peers here at the look): nothing unsent,
    // and the bytes sent (retransmissions included; Linux 4.19) are exactly Node's, so no one else
    // wrote and nothing was sent twice. What is unacknowledged is then Node's bytes less those
    // acknowledged, as SIOCOUTQ less our FIN would say: one ioctl fewer. Anything else reads it.
    *unacked = written - acked;
  }
  return kPeerQuiet;
}

int PollEvents() { return POLLIN | POLLOUT | POLLRDHUP; }

int NativeToRevents(int revents) {
  return ((revents & POLLIN) ? kReventIn : 0) | ((revents & POLLOUT) ? kReventOut : 0) |
         ((revents & POLLERR) ? kReventErr : 0) | ((revents & POLLHUP) ? kReventHup : 0) |
         ((revents & POLLRDHUP) ? kReventRdHup : 0);
}

#undef SOCKCLOSE_HAS_FIELD

}  // namespace platform
}  // namespace sys
}  // namespace sockclose
