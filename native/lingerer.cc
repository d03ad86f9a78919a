// The native lingerer (see lingerer.h). Portable over every Unix: the platform's differences stay
// in sys_*.cc (reads, the send queue, SO_LINGER) and in poller_*.cc (the event mechanism).
#include "lingerer.h"

#include <cerrno>

#include "sys.h"

namespace sockclose {
namespace lingerer {
namespace {

// Reads per wake-up before yielding to the rest of the loop: a peer that floods cannot starve it
// (libuv's polls are level-triggered: what is left wakes us again).
constexpr int kReadsPerWakeup = 16;
constexpr unsigned long kBufferBytes = 64 * 1024;
// The timer never fires more often than this: deadlines are exact to within it, and many lingers
// with nearby deadlines cost one scan, not one each.
constexpr uint64_t kMinScanIntervalMs = 10;
// A new linger is first read by the timer, this long after its start, and only watched by the
// poller if its peer has not finished by then: a peer close by (a proxy, a load balancer, a
// client on the same host) has answered our FIN by then, and one timer pass reads every FIN that
// came meanwhile, where watching each connection from the start costs two epoll_ctl() calls and a
// wake-up of the loop per connection. While the next thing due is such a first read, the timer
// may fire this often too (kFirstReadScanIntervalMs): small batches of sockets a millisecond old
// cost ~1.9 us less per request under wrk than the 10 ms design's bursts of ~150 cold ones; the
// 1 ms delay alone, with 10 ms passes, did not help (docs/benchmarks.md, 2026-12-06). Peers
// 1-10 ms away are watched now (an ADD and a wake-up, ~1.5 us) where a 10 ms read ended them.
constexpr uint64_t kFirstReadMs = 1;
constexpr uint64_t kFirstReadScanIntervalMs = 1;
// While bytes of ours are unacknowledged, the send queue is read this many times per idle timeout:
// an acknowledgement is dated by the look that sees it, so a peer that stops reading after one is
// closed within idleTimeout (plus this share) of it, not up to two idle timeouts later.
constexpr uint64_t kQueueLooksPerIdle = 8;
// The idle end of a watched connection comes after a last look for its peer's bytes or FIN (they
// may have come since libuv last polled). On Linux one poll of our epoll descriptor answers for
// many such ends at once (Poller::PollNow()), where a read each cost a syscall per timed-out
// linger. It answers for this many ends of the same timer pass, so that what arrives during a long
// pass is still seen within a few dozen closes (~0.6 ms at the ~9 us a timed-out close costs the
// kernel here, bench:close-steps), as a read just before each close would have seen it.
constexpr int kIdleEndsPerPoll = 64;

bool WouldBlock(long result) { return result == -EAGAIN || result == -EWOULDBLOCK; }

// The monotonic clock in milliseconds, rounded up: a hand-over or a progress dated with it is never
// dated before it happened, so no deadline counted from it comes early. The loop's time is floored
// to the millisecond and taken before the callbacks of its iteration run: dated with it, an idle
// linger ended up to 0.75 ms before idleTimeout had passed since the peer's last byte.
uint64_t MsRoundedUp(uint64_t ns) { return (ns + 999999) / 1000000; }
uint64_t ClockMsRoundedUp() { return MsRoundedUp(uv_hrtime()); }

}  // namespace

// One lingering connection: our duplicate of its descriptor and the poll watching it.
class Connection {
 public:
  Connection(Lingerer* owner, const StartRequest& request, int fd, bool clear_linger, bool linger_unread)
      : owner_(owner),
        fd_(fd),
        token_(request.token),
        group_(request.group),
        flags_(request.flags),
        clear_linger_(clear_linger),
        linger_unread_(linger_unread),
        idle_ms_(request.idle_ms),
        max_drain_bytes_(request.max_drain_bytes),
        elapsed_ms_(request.elapsed_ms),
        started_ns_(uv_hrtime()),
        drained_bytes_(request.drained_bytes),
        read_bytes_(request.read_bytes),
        written_bytes_(request.written_bytes) {
    // Not uv_now(): Start() runs from JavaScript, and the loop's time is that of the iteration's
    // start, which can be tens of milliseconds ago under load; every deadline would come that much
    // early. The same monotonic clock, read now (the loop's may trail it by a tick, never lead),
    // rounded up: deadlines counted from the millisecond the hand-over falls in came up to 1 ms
    // early (99.2 ms reported for a 100 ms bound).
    const uint64_t now = MsRoundedUp(started_ns_);
    started_ = now;
    // The idle clock of the stages before (half-closed, flushing) runs on: a peer silent there
    // is not given a fresh idle timeout here.
    last_progress_ = now - (request.idle_ms_spent < now ? request.idle_ms_spent : now);
    total_deadline_ = now + request.left_ms;
  }

  unsigned flags() const { return flags_; }
  uint32_t token() const { return token_; }
  uint32_t group() const { return group_; }

  // Reads and discards what is waiting: kEnded (Finish() was called), kWouldBlock (nothing
  // left for now) or kMore (the per-wake-up share is used up; the rest comes next time).
  enum DrainResult { kEnded, kWouldBlock, kMore };
  DrainResult Drain() {
    // The peer has finished: reads only say so again. What is left is our bytes' acknowledgement.
    if (peer_finished_) return AwaitAcknowledgement();
    read_bytes_ = -1;  // Node's count no longer tells what was read (LookFirst())
    for (int i = 0; i < kReadsPerWakeup; i++) {
      // Never more than one byte past the limit: reaching it is what the read must tell.
      const double room = max_drain_bytes_ - drained_bytes_;
      if (room < 0) return End(kEndDrainLimit, 0);
      const unsigned long want =
          room + 1 < static_cast<double>(kBufferBytes) ? static_cast<unsigned long>(room) + 1 : kBufferBytes;
      const long count = sys::Read(fd_, owner_->buffer_.get(), want);
      if (count > 0) {
        drained_bytes_ += static_cast<double>(count);
        // Dated now, rounded up (ClockMsRoundedUp()), and never back in time.
        const uint64_t now = ClockMsRoundedUp();
        if (now > last_progress_) last_progress_ = now;
        if (drained_bytes_ > max_drain_bytes_) return End(kEndDrainLimit, 0);
        continue;
      }
      if (count == 0) return PeerFinished();
      if (WouldBlock(count)) return kWouldBlock;
      // IBM i fails reads after our shutdown(SHUT_WR) with ECONNRESET (libuv issue 3494): there
      // it means the peer is done, not that it reset.
      if (count == -ECONNRESET && (flags_ & kResetAfterShutdownIsEnd)) return End(kEndEof, 0);
      return End(kEndError, static_cast<int>(-count));
    }
    return kMore;
  }

  // The peer's FIN was read. On TCP (kAckedBeforeEof) with bytes of ours still unacknowledged, a
  // close now would orphan them in the kernel (LAST_ACK: a peer that half-closed and keeps its
  // window shut holds our response in kernel memory for minutes, past every bound, counted
  // nowhere). Then the linger goes on, on the timer alone (the FIN keeps the socket readable, so
  // the poller would only wake us again), until the queue drains ('eof', a normal close) or a bound
  // ends it as any other. One ioctl on every linger's end; AF_UNIX has nothing of this.
  DrainResult PeerFinished() {
    if (!(flags_ & kAckedBeforeEof)) return End(kEndEof, 0);
    const DrainResult result = AwaitAcknowledgement();
    if (result == kEnded) return kEnded;
    peer_finished_ = true;
    Unwatch();
    // Always in the due heap while it lingers (Start() puts it there before any read).
    owner_->Advance(this, NextDeadline());
    return kWouldBlock;
  }

  // After the peer's FIN: ends the linger once our bytes are acknowledged (or the queue cannot be
  // read: -1), or once a reset has ended the connection. A reset after the peer's FIN (a write of
  // ours to a peer that had closed: Node's 400 after a failed parse, to a client gone mid-upload)
  // leaves our bytes unacknowledged for good, while a read says only EOF again: the linger waited
  // for an acknowledgement that never came, to the idle timeout, then sent an RST to no
  // connection. The kernel's state tells (CLOSE), asked only with bytes unacknowledged; not the
  // pending error alone, which an ICMP soft error sets on a live connection (and reading it clears
  // it). The error, once CLOSE says it is final, names the end (EPIPE if someone took it).
  // The final ACK of a clean end also leads to CLOSE and may land between the two looks: in CLOSE
  // the queue no longer moves, so a second look tells the two apart.
  DrainResult AwaitAcknowledgement() {
    bool fin_acked = false;
    if (LookAtSendQueue(uv_now(owner_->loop_), &fin_acked) <= 0) {
      // Both FINs exchanged and ours acknowledged: the kernel has ended the connection (CLOSE).
      over_ = fin_acked;
      return End(kEndEof, 0);
    }
    if (!sys::platform::ConnectionClosed(fd_)) return kWouldBlock;
    over_ = true;
    if (sys::platform::SendQueueMeter(fd_, &fin_acked) == 0) return End(kEndEof, 0);
    int pending = 0;
    sys::TakeError(fd_, &pending);
    return End(kEndError, pending != 0 ? pending : EPIPE);
  }

  // Reads our send queue (-1 if unknown) and schedules the next look. A queue that shrank is
  // progress: bytes of ours acknowledged, dated by the look that sees it (rounded up, as a read's:
  // `now`, the loop's time, may be older than the acknowledgement).
  // `fin_acked`, if given: whether our FIN itself was seen acknowledged (SendQueueMeter()).
  double LookAtSendQueue(uint64_t now, bool* fin_acked = nullptr) {
    bool acked = false;
    const double queued = sys::platform::SendQueueMeter(fd_, &acked);
    if (fin_acked != nullptr) *fin_acked = acked;
    if (queued >= 0 && send_queue_ >= 0 && queued < send_queue_) {
      const uint64_t seen = ClockMsRoundedUp();
      if (seen > last_progress_) last_progress_ = seen;
    }
    send_queue_ = queued;
    next_queue_look_ = now + QueueLookInterval();
    return queued;
  }

  // Stops the poller's watch, if any (before the number is freed, or when only the timer looks).
  // `closing`: our descriptor closes next (the epoll backend leaves the entry to the close).
  void Unwatch(bool closing = false) {
    if (registered_) owner_->poller_.Remove(fd_, watch_, closing);
    registered_ = false;
    watch_ = nullptr;
  }

  // 0, or -errno (the poller could not watch it).
  int Register() {
    const int result = owner_->poller_.Add(fd_, Key(), &watch_);
    registered_ = result == 0;
    return result;
  }

  // After a readiness callback that left it watched: watch for the next one (or end, if the
  // poller cannot: nothing but the timer would look at it again).
  void Rearm() {
    const int result = owner_->poller_.Rearm(fd_, Key(), watch_);
    if (result != 0) End(kEndError, -result);
  }

  // What the poller knows it by (Lingerer::Watched()): its slot, and its token, which tells it
  // from a later connection in the same slot.
  uint64_t Key() const { return (static_cast<uint64_t>(slot_) << 32) | token_; }

  // Its first read still to come (kFirstReadMs): neither watched yet nor finished.
  bool FirstReadPending() const { return !registered_ && !peer_finished_; }

  // A deadline passed, or the linger ended at its first read? Ends the linger if so (true).
  // Bytes of ours being acknowledged count as progress too, so a peer still reading a large
  // response is not cut off: the send queue is read at the first read (the baseline), then every
  // idle_ms / kQueueLooksPerIdle while it is not empty.
  bool CheckDeadlines(uint64_t now) {
    if (FirstReadPending() && now >= started_ + kFirstReadMs) {
      // The first read (kFirstReadMs), unless the kernel's counts answer for it; a peer not
      // finished yet is watched from now on. What a read leaves (a flood past this wake-up's
      // share) the level-triggered poller reports at once.
      const FirstLook look = LookFirst(now);
      if (look == kLookEnded) return true;
      if (look == kLookRead && Drain() == kEnded) return true;
      // Its FIN read here with ours unacknowledged (PeerFinished()): the timer alone has it now. A
      // watch would report the readable EOF on every loop iteration (a busy loop to the bound).
      if (!peer_finished_) {
        const int registered = Register();
        if (registered != 0) return End(kEndError, -registered) == kEnded;
        if (look == kLookRead) LookAtSendQueue(now);  // the baseline (LookFirst() took it otherwise)
      }
    }
    // A deadline ends the linger only after a last read: the peer's FIN may have come since the
    // last one (libuv runs timers before it polls; and a timeout shorter than kFirstReadMs comes
    // before the first read), and a peer that finished ends as it did, not as a timeout.
    if (now >= total_deadline_) return Drain() == kEnded || End(kEndMaxTimeout, 0) == kEnded;
    if (now < NextDeadline()) return false;
    // After our FIN nothing joins the send queue: once seen empty it has no progress left to show,
    // and a silent peer's idle deadline costs no syscall.
    if (send_queue_ != 0 && (now >= next_queue_look_ || now >= last_progress_ + idle_ms_)) {
      // The peer had finished, and everything of ours is acknowledged now (or a reset ended it):
      // the linger is over.
      if (peer_finished_) {
        if (AwaitAcknowledgement() == kEnded) return true;
      } else {
        LookAtSendQueue(now);
      }
    }
    if (now < last_progress_ + idle_ms_) return false;
    // After the peer's FIN the look just above was the last read there is (send_queue_ stays
    // non-zero until it ends the linger): nothing more to learn before the idle end. A watched
    // connection the timer's poll found with nothing to read needs no read of its own.
    if (!peer_finished_ && !owner_->QuietSincePoll(this) && Drain() == kEnded) return true;
    // Bytes read now are progress (Drain() dated it): not idle after all.
    return now >= last_progress_ + idle_ms_ && End(kEndIdleTimeout, 0) == kEnded;
  }

  // The first look, where the kernel's counts can answer it against Node's (Linux TCP: one
  // TCP_INFO call, sys::platform::PeerAfterRead()) instead of a read and, at the peer's FIN, a
  // look at the send queue: one syscall less for a peer that has finished, and for a silent one
  // (on Linux 4.19 and later wherever only Node wrote and nothing was sent twice; before, only once
  // its kernel has acknowledged our FIN: FIN_WAIT2).
  // - kLookEnded: the peer's FIN came right after what Node read, everything of ours is
  //   acknowledged and the kernel has ended the connection (CLOSE): 'eof', its FIN never read (a
  //   close in CLOSE sends nothing, and nothing else waited).
  // - kLookQuiet: nothing arrived since Node's last read; the send queue's baseline is taken here,
  //   from the same call where it can tell (PeerAfterRead()'s `unacked`), else with the ioctl.
  // - kLookRead: anything else (bytes, a reset, counts that differ: a descriptor another process
  //   read or wrote, TLS over something else, other platforms): the first read.
  enum FirstLook { kLookRead, kLookQuiet, kLookEnded };
  FirstLook LookFirst(uint64_t now) {
    if (read_bytes_ < 0 || written_bytes_ < 0 || !(flags_ & kAckedBeforeEof)) return kLookRead;
    double unacked = -1;
    switch (sys::platform::PeerAfterRead(fd_, read_bytes_, written_bytes_, &unacked)) {
      case sys::platform::kPeerDone:
        over_ = true;  // SO_LINGER cannot change a close in CLOSE (ReadDeferredLinger())
        End(kEndEof, 0);
        return kLookEnded;
      case sys::platform::kPeerQuiet:
        if (unacked >= 0) {
          send_queue_ = unacked;  // as LookAtSendQueue() would have read it
          next_queue_look_ = now + QueueLookInterval();
        } else {
          LookAtSendQueue(now);
        }
        return kLookQuiet;
      case sys::platform::kPeerUnknown:
        break;
    }
    return kLookRead;
  }

  // Whether CheckDeadlines(now) would end it at its idle deadline after a last read (the read that
  // Lingerer::OnTimer() may answer for with one poll).
  bool IdleEndNeedsRead(uint64_t now) const {
    return registered_ && !peer_finished_ && now < total_deadline_ && now >= last_progress_ + idle_ms_;
  }

  // When the timer must look at this connection next.
  uint64_t NextDeadline() const {
    uint64_t deadline = last_progress_ + idle_ms_;
    if (FirstReadPending() && started_ + kFirstReadMs < deadline) deadline = started_ + kFirstReadMs;
    // Only a queue that can still shrink is worth a look (unknown, -1, keeps the idle deadline's).
    if ((registered_ || peer_finished_) && send_queue_ > 0 && next_queue_look_ < deadline) deadline = next_queue_look_;
    return deadline < total_deadline_ ? deadline : total_deadline_;
  }

  uint64_t QueueLookInterval() const {
    const uint64_t interval = idle_ms_ / kQueueLooksPerIdle;
    return interval > 1 ? interval : 1;
  }

  // Closes our descriptor as the end calls for and queues the report (this object is gone after).
  DrainResult End(int reason, int error) {
    owner_->Finish(this, reason, error);
    return kEnded;
  }

  // Closes the descriptor (SO_LINGER {1, 0} first when `reset`); true if it was made abortive.
  // With `unread`, first counts the input waiting into it (-1 unknown). With `tcp`, reads our bytes
  // not yet sent and the TCP state into it (-1 unknown) when the close resets (asked for, or input
  // unread).
  bool CloseDescriptor(bool reset, double* unread = nullptr, TcpAtClose* tcp = nullptr) {
    Unwatch(true);  // before the number is freed
    if (!reset) ReadDeferredLinger();
    if (unread != nullptr) *unread = UnreadNow();
    if (tcp != nullptr && (reset || (unread != nullptr && *unread > 0))) *tcp = TcpNow();
    bool reset_done = false;
    if (reset) {
      reset_done = sys::SetLinger(fd_, true, 0) == 0;
    } else if (clear_linger_) {
      // A positive SO_LINGER would make close() block the loop's thread; the linger is over.
      sys::SetLinger(fd_, false, 0);
    }
    sys::Close(fd_);
    fd_ = -1;
    return reset_done;
  }

  // Whether the close ending this linger resets: a bound's (`bound`: a timeout, the drain limit, a
  // cut) under onTimeout 'reset', or under 'close' where SO_LINGER {1, 0} was set elsewhere (on the
  // listening socket, through a raw descriptor: see ReadDeferredLinger()), as that setting asks.
  // The peer's own end (FIN or reset) never: the linger did what it was for.
  bool ResetAsked(bool bound) {
    if (!bound) return false;
    if (flags_ & kResetOnTimeout) return true;
    ReadDeferredLinger();
    return abortive_set_ && (flags_ & kAckedBeforeEof) != 0;  // TCP: AF_UNIX has no reset
  }

  // SO_LINGER, where Start() left it unread (the caller had not read it, and Node had sent our FIN:
  // Node's close of its own copy sends nothing and cannot block while ours is open). Read before
  // the first close it can change: a positive linger would block the loop's thread in close(), and
  // is turned off, as is {1, 0} unless ResetAsked() honours it. Not once the connection is over:
  // after both FINs with ours acknowledged (or once the kernel ended it) the state is CLOSE, where
  // Linux's close() neither waits nor sends, whatever SO_LINGER says. So the common end, a peer that
  // read our response and closed, costs no getsockopt (issue 10: one syscall of five per request).
  void ReadDeferredLinger() {
    if (!linger_unread_ || over_) return;
    linger_unread_ = false;
    bool enabled = false;
    int seconds = 0;
    if (sys::GetLinger(fd_, &enabled, &seconds) < 0) {
      clear_linger_ = true;  // unknown: whatever it is, off
      return;
    }
    abortive_set_ = enabled && seconds == 0;
    clear_linger_ = enabled;
  }

  // Bytes waiting to be read, -1 if unknown. Looked at only before the closes a bound makes
  // (rare): the drain limit stops reading while the peer may still be sending.
  double UnreadNow() const {
    double probe[kProbeSlotCount];
    probe[kSlotUnread] = -1;
    sys::platform::ProbeUnread(fd_, probe);
    return probe[kSlotUnread];
  }

  // Our bytes not yet sent, our FIN counted as one (Linux's TCP_INFO), and the TCP state, from one
  // call; -1 each if unknown. Looked at only before a close that resets with bytes of ours
  // unacknowledged (rare): whether our FIN left before the reset, which discards it otherwise (a
  // peer that does not read), and whether the kernel sends the reset at all (Linux does not from
  // LAST_ACK or CLOSING with nothing unsent: src/platform's abortiveCloseSendsNoReset).
  TcpAtClose TcpNow() const {
    double probe[kProbeSlotCount];
    probe[kSlotUnsent] = -1;
    probe[kSlotState] = -1;
    sys::platform::ProbeTcp(fd_, probe);
    return TcpAtClose{probe[kSlotUnsent], probe[kSlotState]};
  }

  // Whether bytes of ours may still wait in the kernel: not seen acknowledged at the last look
  // (unknown counts). A silent peer's timeout with everything acknowledged looks no further.
  bool MayHoldUnsent() const { return send_queue_ != 0; }

  Report MakeReport(int reason, int error, bool reset, double unread, const TcpAtClose& tcp) const {
    Report report;
    report.token = token_;
    report.group = group_;
    report.reason = reason;
    report.error = error;
    report.reset = reset;
    report.unread_bytes = unread;
    report.unsent_bytes = tcp.unsent_bytes;
    report.tcp_state = tcp.state;
    report.drained_bytes = drained_bytes_;
    report.duration_ms = elapsed_ms_ + static_cast<double>(uv_hrtime() - started_ns_) / 1e6;
    return report;
  }

  // Readable (or, with `error`, the backend saw an error condition: uv_poll_t then stops watching).
  void OnReady(bool error) {
    DrainResult result = Drain();
    // Its FIN read with ours unacknowledged: the timer has it now (PeerFinished()).
    if (result == kEnded || !error || peer_finished_) return;
    // A reset connection: what arrived before it is finite (the receive queue), the error after it.
    while (result == kMore) result = Drain();
    if (result == kEnded) return;
    // An error condition, yet no read said which: the pending error names it (reading it clears
    // it, which harms nobody: this descriptor is about to close).
    int pending = 0;
    sys::TakeError(fd_, &pending);
    End(kEndError, pending != 0 ? pending : EIO);
  }

  Lingerer* owner_;
  uint32_t slot_ = UINT32_MAX;         // its slot (Lingerer::slots_); UINT32_MAX: not in the due heap
  Watch* watch_ = nullptr;
  bool registered_ = false;
  bool peer_finished_ = false;         // its FIN read while ours were unacknowledged (PeerFinished())

 private:
  int fd_;
  uint32_t token_;
  uint32_t group_;
  unsigned flags_;
  bool clear_linger_;        // SO_LINGER is set: turned off before a close that does not reset
  bool linger_unread_;       // SO_LINGER not read yet (ReadDeferredLinger())
  bool abortive_set_ = false;  // it read {1, 0}
  bool over_ = false;        // the kernel has ended the connection: SO_LINGER cannot matter any more
  uint64_t idle_ms_;
  double max_drain_bytes_;
  double elapsed_ms_;
  uint64_t started_ns_;
  uint64_t started_;        // loop time (ms)
  uint64_t last_progress_;  // loop time of the last byte read or acknowledged
  uint64_t total_deadline_;
  double drained_bytes_;
  double read_bytes_;     // Node's counts at the hand-over (LookFirst()), -1 once unknown or stale
  double written_bytes_;
  double send_queue_ = -1;  // SendQueueMeter() at the last look; -1 before the first or if unknown
  uint64_t next_queue_look_ = 0;  // loop time of the next look at a non-empty send queue
};


Lingerer::Lingerer(uv_loop_t* loop, void (*on_reports)(void* context), void* context)
    : loop_(loop),
      poller_(loop, ReadyCallback, this),
      on_reports_(on_reports),
      context_(context),
      buffer_(new char[kBufferBytes]) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_idle_init(loop_, &idle_);
  idle_.data = this;
  uv_check_init(loop_, &check_);
  check_.data = this;
}

int Lingerer::Start(const StartRequest& request) {
  if (shutting_down_) return -ECANCELED;
  bool clear_linger = false;
  // Node sent our FIN already (http's destroySoon()): SO_LINGER can wait for our close, and most
  // closes never need it (Connection::ReadDeferredLinger()). Otherwise it is read now, before our
  // FIN: an abortive close asked for must not send one first.
  const bool linger_deferred = (request.flags & (kLingerChecked | kFinSent)) == kFinSent;
  if (!(request.flags & kLingerChecked) && !linger_deferred) {
    bool enabled = false;
    int seconds = 0;
    const int result = sys::GetLinger(request.fd, &enabled, &seconds);
    if (result < 0) return kStartGetLingerFailed + result;
    if (enabled && seconds == 0) return kStartAbortive;
    clear_linger = enabled;
  }
  // The watcher's means first (a no-op once made): a failure then leaves nothing to undo, and the
  // caller closes as it would without a lingerer.
  const int prepared = poller_.Prepare();
  if (prepared != 0) return kStartPollerFailed + prepared;
  const int fd = sys::DupCloexec(request.fd);
  if (fd < 0) return fd;
  // Our FIN, if Node could not send it: Node's queues are empty (the caller waited), so nothing is
  // cut off. A failure (the peer already reset) shows in the first read.
  if (!(request.flags & kFinSent)) sys::ShutdownWrite(fd);

  auto* connection = new Connection(this, request, fd, clear_linger, linger_deferred);
  // In the due heap from the start (its first read, kFirstReadMs in): the heap is also the list of
  // every lingering connection (Count(), Shutdown()).
  const uint64_t due = connection->NextDeadline();
  HeapPush(connection, due);

  // Node saw the peer's FIN already: the linger may be over before it needs a watcher.
  if ((request.flags & kInputEnded) && connection->Drain() == Connection::kEnded) return 0;
  // Watched only after its first read (kFirstReadMs), on the timer.
  ArmTimer(due);
  return 0;
}

void Lingerer::ArmTimer(uint64_t deadline) {
  if (timer_due_ != 0 && timer_due_ <= deadline) return;
  const uint64_t now = uv_now(loop_);
  uint64_t due = deadline;
  // The deadline armed for is the heap's top (the earliest): a first read there may come sooner.
  const uint64_t interval = Of(due_heap_[0])->FirstReadPending() ? kFirstReadScanIntervalMs : kMinScanIntervalMs;
  if (due < last_scan_ + interval) due = last_scan_ + interval;
  timer_due_ = due;
  uv_timer_start(&timer_, TimerCallback, due > now ? due - now : 0, 0);
}

// Scans: cuts are rare (a caller giving up on a linger, a server shutting down), and the heap is
// the only list.
bool Lingerer::Cut(uint32_t token) {
  for (const DueEntry& entry : due_heap_) {
    Connection* connection = Of(entry);
    if (connection->token() != token) continue;
    CutNow(connection);  // the heap changes: no step further
    return true;
  }
  return false;
}

size_t Lingerer::CutGroup(uint32_t group) {
  std::vector<Connection*> cut;
  for (const DueEntry& entry : due_heap_) {
    Connection* connection = Of(entry);
    if (connection->group() == group) cut.push_back(connection);
  }
  // Each ends alone (Finish() deletes only it): the others' pointers stay good.
  for (Connection* connection : cut) CutNow(connection);
  return cut.size();
}

void Lingerer::CutNow(Connection* connection) {
  // What came meanwhile first: a peer that already finished ended its linger, not the caller.
  if (connection->Drain() != Connection::kEnded) connection->End(kEndAborted, 0);
}

void Lingerer::Finish(Connection* connection, int reason, int error) {
  const bool bound = reason == kEndIdleTimeout || reason == kEndMaxTimeout || reason == kEndDrainLimit ||
                     reason == kEndAborted;
  const bool reset_asked = connection->ResetAsked(bound);
  // Input left unread: a plain close is answered by the kernel with a reset all the same, and a
  // reset asked for then hits a peer still sending (the drain limit, say), which may not have read
  // our response: the report says how much. The peer's FIN or failure leaves nothing to read; an
  // idle timeout came after a last read that found nothing (no ioctl on the common bound end).
  double unread = 0;
  const bool look = bound && (reset_asked ? reason != kEndIdleTimeout : (connection->flags() & kUnreadResets) != 0);
  // What of ours a reset discards (TCP: AF_UNIX has no FIN to lose), only with bytes of ours
  // unacknowledged: a FIN behind unsent bytes never left.
  TcpAtClose tcp;
  const bool look_unsent = bound && (connection->flags() & kAckedBeforeEof) && connection->MayHoldUnsent();
  const bool reset = connection->CloseDescriptor(reset_asked, look ? &unread : nullptr, look_unsent ? &tcp : nullptr);
  // A reset asked for but refused (SO_LINGER not set) leaves a plain close: where that sends FIN
  // on unread input (the BSDs), no reset happened to report.
  if (!reset && !(connection->flags() & kUnreadResets)) unread = 0;
  QueueReport(connection->MakeReport(reason, error, reset, unread, tcp));
  Remove(connection);
}

void Lingerer::Remove(Connection* connection) {
  HeapErase(connection);
  if (due_heap_.empty() && timer_due_ != 0) {
    uv_timer_stop(&timer_);
    timer_due_ = 0;
  }
  delete connection;
}

void Lingerer::QueueReport(const Report& report) {
  if (shutting_down_) return;
  reports_.push_back(report);
  // Both idempotent and referenced: a report waiting (a lingeringClose() promise) keeps the loop
  // alive. An idle handle makes the next poll return at once: only where the check phase may not
  // come before the loop blocks.
  if (polling_) uv_check_start(&check_, CheckCallback);
  else uv_idle_start(&idle_, IdleCallback);
}

void Lingerer::TakeReports(std::vector<Report>* out) {
  out->clear();
  out->swap(reports_);
}

void Lingerer::OnTimer() {
  const uint64_t now = uv_now(loop_);
  last_scan_ = now;
  timer_due_ = 0;
  in_timer_ = true;
  bool poll_unavailable = false;
  // Only what is due: a connection that ends leaves the heap (Remove), the others go back in
  // with their next deadline, which is later than now (CheckDeadlines ends what is due).
  while (!due_heap_.empty() && due_heap_[0].due <= now) {
    Connection* connection = Of(due_heap_[0]);
    if (quiet_left_ == 0 && !poll_unavailable && connection->IdleEndNeedsRead(now)) {
      // One poll for the last reads of the next kIdleEndsPerPoll idle ends. What it finds ready is
      // read now, as the poll phase would read it: that may end or move connections, this one
      // included, so the heap's top is taken again.
      if (poller_.PollNow()) quiet_left_ = kIdleEndsPerPoll;
      else poll_unavailable = true;
      continue;
    }
    PrefetchNextTop();
    if (connection->CheckDeadlines(now)) continue;
    const uint64_t next = connection->NextDeadline();
    const size_t index = HeapIndex(connection);
    due_heap_[index].due = next > now ? next : now + 1;  // later than before: it can only sink
    HeapSiftDown(index);
  }
  in_timer_ = false;
  quiet_left_ = 0;  // answers only within its pass
  if (!due_heap_.empty()) ArmTimer(due_heap_[0].due);
}

bool Lingerer::QuietSincePoll(const Connection* connection) {
  if (quiet_left_ == 0 || !connection->registered_) return false;
  quiet_left_--;
  return true;
}

size_t Lingerer::HeapIndex(const Connection* connection) const { return slots_[connection->slot_].heap_index; }

// The top after this one is one of its children (this one ends, or sinks below them): their
// connections load while this one's syscalls run. Measured (perf, 2,000 lingers timing out): the
// first touch of each due connection, a cache miss after the kernel's work for the others, was
// most of the timer's own time.
void Lingerer::PrefetchNextTop() const {
  const size_t size = due_heap_.size();
  for (size_t child = 1; child <= 2 && child < size; child++) {
    const char* connection = reinterpret_cast<const char*>(Of(due_heap_[child]));
    __builtin_prefetch(connection);
    __builtin_prefetch(connection + 64);  // what CheckDeadlines() reads spans two lines
  }
}

void Lingerer::Advance(Connection* connection, uint64_t due) {
  const size_t index = HeapIndex(connection);
  if (due >= due_heap_[index].due) return;
  due_heap_[index].due = due;
  HeapSiftUp(index);
  ArmTimer(due);
}

void Lingerer::HeapPush(Connection* connection, uint64_t due) {
  if (free_slots_.empty()) {
    connection->slot_ = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{connection, 0});
  } else {
    connection->slot_ = free_slots_.back();
    free_slots_.pop_back();
    slots_[connection->slot_].connection = connection;
  }
  due_heap_.push_back(DueEntry{due, connection->slot_});
  HeapSiftUp(due_heap_.size() - 1);  // records its position wherever it settles
}

void Lingerer::HeapErase(Connection* connection) {
  const uint32_t slot = connection->slot_;
  if (slot == UINT32_MAX) return;
  const size_t index = slots_[slot].heap_index;
  connection->slot_ = UINT32_MAX;
  slots_[slot].connection = nullptr;
  free_slots_.push_back(slot);
  const DueEntry last = due_heap_.back();
  due_heap_.pop_back();
  if (last.slot == slot) return;
  Place(index, last);
  HeapSiftUp(index);
  HeapSiftDown(slots_[last.slot].heap_index);
}

void Lingerer::HeapSiftUp(size_t index) {
  const DueEntry moving = due_heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (due_heap_[parent].due <= moving.due) break;
    Place(index, due_heap_[parent]);
    index = parent;
  }
  Place(index, moving);
}

void Lingerer::HeapSiftDown(size_t index) {
  const size_t size = due_heap_.size();
  const DueEntry moving = due_heap_[index];
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && due_heap_[child + 1].due < due_heap_[child].due) child++;
    if (moving.due <= due_heap_[child].due) break;
    Place(index, due_heap_[child]);
    index = child;
  }
  Place(index, moving);
}

void Lingerer::OnIdle() { Deliver(); }

void Lingerer::OnCheck() { Deliver(); }

void Lingerer::Deliver() {
  if (!reports_.empty()) on_reports_(context_);
  // The callback may have started lingers that ended at once: they wait for the next iteration
  // (the idle handle, started for them).
  uv_check_stop(&check_);
  if (reports_.empty()) uv_idle_stop(&idle_);
}

void Lingerer::Shutdown(void (*done)(void* context), void* context) {
  shutting_down_ = true;
  done_ = done;
  done_context_ = context;
  reports_.clear();
  while (!due_heap_.empty()) {
    Connection* connection = Of(due_heap_.back());  // the last: no reordering as it leaves
    // The environment ending cuts every linger short: closed as a cut one is (RST under onTimeout
    // 'reset'), not left in FIN-WAIT holding kernel memory after the worker is gone.
    connection->CloseDescriptor(connection->ResetAsked(true));
    Remove(connection);
  }
  closing_ += 4;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OwnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OwnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), OwnHandleClosed);
  poller_.Close(PollerClosed, this);
}

void Lingerer::PollerClosed(void* context) { static_cast<Lingerer*>(context)->HandleClosed(); }

Connection* Lingerer::Watched(uint64_t key) const {
  const uint64_t slot = key >> 32;
  if (slot >= slots_.size()) return nullptr;
  Connection* connection = slots_[slot].connection;
  if (connection == nullptr || connection->token() != static_cast<uint32_t>(key) || !connection->registered_) return nullptr;
  return connection;
}

void Lingerer::ReadyCallback(void* context, uint64_t key, bool error) {
  auto* self = static_cast<Lingerer*>(context);
  Connection* connection = self->Watched(key);
  // An entry that outlived its connection (poller_epoll.cc): nothing of ours.
  if (connection == nullptr) return;
  // From the timer's own poll (OnTimer()), reports wait for the idle handle, as the timer's do: the
  // check phase comes only after libuv's poll, which may block.
  self->polling_ = !self->in_timer_;
  connection->OnReady(error);
  self->polling_ = false;
  // Still watched (not ended, nor left to the timer): the next event. Nothing starts a connection
  // during OnReady(), so a slot it emptied is still empty here.
  if (self->Watched(key) == connection) connection->Rearm();
}

void Lingerer::HandleClosed() {
  closing_--;
  // Last: `done` may delete this object.
  if (shutting_down_ && closing_ == 0 && done_ != nullptr) done_(done_context_);
}

void Lingerer::TimerCallback(uv_timer_t* timer) { static_cast<Lingerer*>(timer->data)->OnTimer(); }

void Lingerer::IdleCallback(uv_idle_t* idle) { static_cast<Lingerer*>(idle->data)->OnIdle(); }

void Lingerer::CheckCallback(uv_check_t* check) { static_cast<Lingerer*>(check->data)->OnCheck(); }

void Lingerer::OwnHandleClosed(uv_handle_t* handle) { static_cast<Lingerer*>(handle->data)->HandleClosed(); }

}  // namespace lingerer
}  // namespace sockclose
