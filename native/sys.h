// sockclose's whole view of the operating system: a handful of socket syscalls behind one
// platform-neutral interface, in the spirit of Rust's socket2 `sys` modules.
//
// Rules every implementation follows:
//   * return 0 (or the documented non-negative value) on success and -errno on failure;
//   * never throw, never allocate, never keep state between calls;
//   * never close or change a descriptor unless the function's name says so.
//
// sys_posix.cc holds what every Unix shares; sys_linux.cc, sys_bsd.cc and sys_aix.cc hold what
// differs (binding.gyp and CMakeLists.txt compile exactly one of them). Windows has no native layer:
// Node exposes no socket descriptors there.
#ifndef SOCKCLOSE_SYS_H_
#define SOCKCLOSE_SYS_H_

#include "probe.h"

namespace sockclose {
namespace sys {

// SO_LINGER. `seconds` is ignored when `enabled` is false. GetLinger() reports 0 seconds when not
// enabled, and kLingerUnbounded for a linger without limit (a negative l_linger).
constexpr int kLingerUnbounded = -1;
int SetLinger(int fd, bool enabled, int seconds);
int GetLinger(int fd, bool* enabled, int* seconds);

// getsockopt(SO_ERROR): stores the pending error (0 if none) in *error. Destructive on every
// platform we know: the kernel clears the error it returns.
int TakeError(int fd, int* error);

// shutdown(SHUT_WR): sends FIN once queued data has left.
int ShutdownWrite(int fd);

// close(2). Only used for descriptors the caller handed over explicitly (hardReset of a raw fd)
// and for the lingerer's own duplicates.
int Close(int fd);

// A close-on-exec duplicate of `fd` (the lingerer's own reference to a connection): the new
// descriptor, or -errno (-EMFILE when the table is full).
int DupCloexec(int fd);

// recv(2) into `buffer` without waiting (MSG_DONTWAIT, whatever O_NONBLOCK says), retried on
// EINTR: the byte count (0 at the peer's FIN), or -errno (-EAGAIN when nothing is waiting;
// -ENOTSOCK for a descriptor that is not a socket).
long Read(int fd, void* buffer, unsigned long length);

// Fills the fields of `probe` selected by `fields` (ProbeField bits) and leaves the others at -1.
// Looks only: nothing here consumes data or errors. Fails as a whole only when the descriptor is not
// an open socket (-EBADF, -ENOTSOCK); a fact the platform cannot tell is simply left at -1.
int Probe(int fd, unsigned fields, double* probe);

// Lean probes for the common case (issue 11): one int32 each, no record, only the syscalls their
// caller's screen needs. Meant for a descriptor already known to be a socket (a live Node TCP
// handle's); unlike Probe() they do not prove it first. Each looks only, like Probe().

// poll(2) events of `fd` as ProbeRevents bits (ProbeField::kPoll's slot), or -errno.
int PollRevents(int fd);

// What can make a close reset: kResetHintAbortive if SO_LINGER is {on, 0}, kResetHintUnread if
// bytes wait unread (ProbeField::kUnread > 0); 0 if neither (two syscalls), or -errno. Only when
// either is set, the TCP state too (ProbeField::kTcp's, a third syscall), shifted by
// kResetHintStateShift; 0 there if unknown; with them kResetHintUnsent if that same TCP_INFO call
// counted bytes not yet sent (Linux only: it resets an abortive close in LAST_ACK or CLOSING only
// then). Starts with getsockopt, so a descriptor that is not a socket fails with
// -ENOTSOCK. A fact the platform cannot tell counts as absent (-1 in a record).
enum ResetHint : int { kResetHintAbortive = 1, kResetHintUnread = 2, kResetHintUnsent = 4, kResetHintStateShift = 8 };
int ResetHints(int fd);

namespace platform {
// Implemented once per platform family; used by sys_posix.cc.

// The option that takes a linger time in seconds (SO_LINGER; SO_LINGER_SEC on Apple systems).
int LingerOption();

// Whether an enabled linger's l_linger, as getsockopt() reports it, is the kernel's "without limit".
bool LingerUnbounded(int seconds);

// Family, type and listening flag of a socket (ProbeField::kDescribe).
int Describe(int fd, double* probe);

// TCP state and counters (ProbeField::kTcp): TCP_INFO, TCP_CONNECTION_INFO, or what exists.
int ProbeTcp(int fd, double* probe);

// Bytes waiting to be read (ProbeField::kUnread).
int ProbeUnread(int fd, double* probe);

// Bytes not yet sent / sent but not acknowledged (ProbeField::kQueues).
int ProbeQueues(int fd, double* probe);

// What the kernel still holds of ours to send, after our FIN, as a progress meter for the lingerer
// (it only compares two readings): in one call where the platform allows, -1 where unknown. Our
// FIN itself is not counted: its acknowledgement says nothing of the peer, and a delayed ACK sends
// it tens of milliseconds after the bytes before it, which would count as progress and restart a
// silent peer's idle timeout. On Linux an AF_UNIX socket answers with buffer memory rather than
// bytes, which falls as the peer reads all the same. *fin_acked: true only where the same call
// shows our FIN itself acknowledged (Linux: the queue counts it), false where it cannot tell.
double SendQueueMeter(int fd, bool* fin_acked);

// Whether the kernel has ended the TCP connection (CLOSE): after the peer's FIN, with our bytes
// still counted in SendQueueMeter(), only a reset or a timeout leaves it so. One call where the
// platform tells (Linux: the state, TCP_INFO's first byte); false elsewhere.
bool ConnectionClosed(int fd);

// What the kernel can tell of a TCP connection after our FIN without a read, given what its
// users read from it and wrote to it (Node's counts at the hand-over, its write queue empty). The
// lingerer's first look, one call where it had two (the read that meets the peer's FIN, then the
// send queue): kPeerUnknown where the platform cannot tell, or anything else happened (read to
// find out); kPeerQuiet: nothing arrived past `read` (no byte, no FIN, no reset), with *unacked
// the bytes of ours not yet acknowledged, our FIN not counted (SendQueueMeter()'s measure), or -1
// where the call cannot tell (then the send queue is read); kPeerDone: the peer's FIN came
// right after `read`, everything of ours up to our FIN is acknowledged, and the kernel has ended
// the connection (CLOSE, where a close neither waits nor sends, and nothing is left unread).
// Linux: TCP_INFO's state, bytes_received and bytes_acked, which count each side's FIN and never
// a reset (and notsent_bytes and bytes_sent for *unacked); the BSDs and AIX: kPeerUnknown.
enum PeerState : int { kPeerUnknown = 0, kPeerQuiet = 1, kPeerDone = 2 };
PeerState PeerAfterRead(int fd, double read, double written, double* unacked);

// poll(2) events this platform reports for a socket, mapped to ProbeRevents bits (ProbeField::kPoll).
int PollEvents();
int NativeToRevents(int revents);
}  // namespace platform

}  // namespace sys
}  // namespace sockclose

#endif  // SOCKCLOSE_SYS_H_
