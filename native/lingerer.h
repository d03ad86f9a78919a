// The native lingerer: the drain of a lingering close, on the environment's own libuv loop.
//
// It takes a connection's descriptor over (a close-on-exec duplicate, so that Node can close its
// own copy at once: the connection lives on while ours is open), sends our FIN if Node has not,
// then reads and discards until the peer's FIN or reset, the idle timeout, the total cap or the
// drain-byte limit, and closes (abortively after a timeout when so configured). One timer runs
// only while something lingers: it makes each linger's first read, 1 ms in (a peer close by has
// answered our FIN by then: one pass ends all such, with no watcher and no wake-up of their own),
// and checks the deadlines. A peer not finished by its first read is watched through poller.h
// (one epoll descriptor on Linux; a uv_poll_t per connection elsewhere, so that libuv picks
// kqueue, event ports or pollset). No thread, no JavaScript per connection: finished lingers are
// queued and handed to JavaScript in one batch per loop iteration.
//
// Everything here runs on the environment's loop thread; nothing is shared between environments.
#ifndef SOCKCLOSE_LINGERER_H_
#define SOCKCLOSE_LINGERER_H_

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "poller.h"

namespace sockclose {
namespace lingerer {

// How a linger ended; the numbers are src/lingering/native-lingerer.ts's.
enum EndReason : int {
  kEndEof = 0,
  kEndIdleTimeout = 1,
  kEndMaxTimeout = 2,
  kEndError = 3,
  kEndDrainLimit = 4,
  kEndAborted = 5,  // Cut(): the caller ended it
};

// Start() flags.
enum StartFlag : unsigned {
  kFinSent = 1u << 0,               // Node already handed the kernel our FIN
  kResetOnTimeout = 1u << 1,        // a timeout or the drain limit closes with RST
  kResetAfterShutdownIsEnd = 1u << 2,  // IBM i: ECONNRESET after our FIN is the peer's end
  kLingerChecked = 1u << 3,         // SO_LINGER was read by the caller: neither {1, 0} nor positive
  kInputEnded = 1u << 4,            // Node saw the peer's FIN: try reading before registering
  kAckedBeforeEof = 1u << 5,        // TCP: the peer's FIN ends the linger once ours are acknowledged
  kUnreadResets = 1u << 6,          // a close with input unread resets here (TCP RST, Linux AF_UNIX)
};

struct StartRequest {
  int fd;              // Node's descriptor; never closed here
  uint32_t token;      // the caller's name for this linger, given back in its report
  uint32_t group;      // the caller's accounting group (a server), given back in its report
  unsigned flags;      // StartFlag bits
  uint64_t idle_ms;    // idle timeout
  uint64_t left_ms;    // what is left of the total cap
  double max_drain_bytes;
  double drained_bytes;  // already read and dropped by Node before the hand-over
  double elapsed_ms;     // already spent before the hand-over (counted in the report's duration)
  uint64_t idle_ms_spent;  // since the last progress before the hand-over (the idle clock runs on)
  double read_bytes;       // what Node's handle read from the descriptor (TCP), -1 if unknown
  double written_bytes;    // what Node's handle wrote to it, all handed to the kernel (TCP), -1 if unknown
};

// Start()'s result besides 0 (lingering) and -errno (nothing taken: dup() failed).
// SO_LINGER {1, 0} is set: the caller's close must reset. Read at the start only before our FIN
// (kFinSent clear); after it, at the close (Connection::ReadDeferredLinger() in lingerer.cc).
constexpr int kStartAbortive = 1;
// The poller could not be readied (its own descriptor, made at the first hand-over: EMFILE, say):
// kStartPollerFailed - errno, so that the caller names the call that failed (Poller::kPrepareCall),
// not dup(). Nothing was taken either.
constexpr int kStartPollerFailed = -(1 << 16);
// SO_LINGER could not be read (not a socket, say): kStartGetLingerFailed - errno. Nothing was taken.
constexpr int kStartGetLingerFailed = -(2 << 16);

// What a close that resets read of the connection just before (TCP_INFO; -1 each if unknown).
struct TcpAtClose {
  double unsent_bytes = -1;
  double state = -1;
};

struct Report {
  uint32_t token;
  uint32_t group;
  int reason;          // EndReason
  int error;           // errno for kEndError, else 0
  bool reset;          // closed with RST (SO_LINGER {1, 0})
  // Input waiting unread when a bound ended the linger (0 otherwise, and at an idle timeout that
  // resets; -1 unknown): a plain close with any resets where kUnreadResets says so, and a reset
  // asked for hits a peer still sending.
  double unread_bytes;
  // Bytes of ours (our FIN counted as one) not yet sent when that close reset: the reset discarded
  // them, and our FIN with them (0: it had left). Looked at only for a TCP close that resets with
  // bytes of ours unacknowledged at the last look; -1 otherwise, and where the platform cannot tell.
  double unsent_bytes;
  // The TCP state (probe numbering) read with unsent_bytes, just before that close; -1 otherwise.
  // Whether an abortive close sends RST depends on it (Linux: not from LAST_ACK or CLOSING with
  // nothing unsent), and that rule is the platform's, in TypeScript.
  double tcp_state;
  double drained_bytes;
  double duration_ms;
};

class Connection;

// An entry of the due heap. Neither the key nor the position lives in the connection: a sift
// compares keys within this array and records each moved entry's new position in slots_, another
// small array (32 KB each for 2,000 lingers), instead of writing into each moved connection
// wherever it lives. Measured (perf, 2,000 lingers timing out): sifts that loaded each compared
// connection's key took ~10 % of the server's CPU; writing each moved connection's position still
// took ~4 % of it (a cache miss per level), the largest single item of the lingering server's
// extra over a plain one.
struct DueEntry {
  uint64_t due;   // loop time (ms) the timer must look at the connection by
  uint32_t slot;  // its slot (Lingerer::slots_)
};

class Lingerer {
 public:
  // `on_reports` is called from the loop whenever reports are waiting; it takes them with
  // TakeReports(). Reports made while libuv polls (a peer's FIN, the common end) go out in the
  // check phase of that same iteration: under load this batches them without making the loop
  // spin. Others (a timeout, a linger over at its start) use an idle handle, which keeps the loop
  // from blocking, or exiting, while they wait.
  Lingerer(uv_loop_t* loop, void (*on_reports)(void* context), void* context);
  Lingerer(const Lingerer&) = delete;
  Lingerer& operator=(const Lingerer&) = delete;

  // Takes the connection over: 0, kStartAbortive, or -errno. A linger that ends at once (the
  // peer's FIN already read) is reported like any other.
  int Start(const StartRequest& request);

  // Connections lingering now.
  size_t Count() const { return due_heap_.size(); }

  // Ends the linger named `token` now, as its caller asked: closed as a timeout closes it (RST
  // with kResetOnTimeout), reported as kEndAborted; unless a last read finds it over (the peer's
  // FIN or reset came meanwhile), which is reported as such. True if that linger was running.
  bool Cut(uint32_t token);
  // Cut() of every linger of `group` (a server's): how many there were.
  size_t CutGroup(uint32_t group);

  // Moves the waiting reports into `out` (cleared first).
  void TakeReports(std::vector<Report>* out);

  // Environment teardown: closes every descriptor at once and every handle; `done` runs (from the
  // loop) once libuv has let go of them all, after which the object may be deleted. No report
  // is made after this.
  void Shutdown(void (*done)(void* context), void* context);

 private:
  friend class Connection;

  void Finish(Connection* connection, int reason, int error);
  void CutNow(Connection* connection);
  void Remove(Connection* connection);
  // The due heap: every connection, ordered by when the timer must look at it next (its entry's
  // `due`, never later than its real next deadline: progress only moves that later, and a look
  // that comes early just schedules the connection again). The timer visits only what is due.
  void HeapPush(Connection* connection, uint64_t due);
  void HeapErase(Connection* connection);
  void HeapSiftDown(size_t index);
  void HeapSiftUp(size_t index);
  // The connection an entry stands for, and where a connection's entry sits.
  Connection* Of(const DueEntry& entry) const { return slots_[entry.slot].connection; }
  size_t HeapIndex(const Connection* connection) const;
  // Puts `entry` at `index`, recording the position in its slot.
  void Place(size_t index, const DueEntry& entry) {
    due_heap_[index] = entry;
    slots_[entry.slot].heap_index = index;
  }
  void PrefetchNextTop() const;
  // A connection's next deadline moved earlier than its entry says: the entry, and the timer, follow.
  void Advance(Connection* connection, uint64_t due);
  void ArmTimer(uint64_t deadline);
  void QueueReport(const Report& report);
  void OnTimer();
  // At an idle end: true (and one fewer left) if the timer's poll, this pass, answers for
  // `connection`'s last read: it is watched, and the poll found nothing ready for it.
  bool QuietSincePoll(const Connection* connection);
  void OnIdle();
  void OnCheck();
  void Deliver();
  void HandleClosed();

  static void TimerCallback(uv_timer_t* timer);
  static void IdleCallback(uv_idle_t* idle);
  static void CheckCallback(uv_check_t* check);
  static void OwnHandleClosed(uv_handle_t* handle);
  static void PollerClosed(void* context);
  static void ReadyCallback(void* context, uint64_t key, bool error);
  // The connection the poller's `key` names, if it still lingers and is watched.
  Connection* Watched(uint64_t key) const;

  uv_loop_t* loop_;
  Poller poller_;
  uv_timer_t timer_;
  uv_idle_t idle_;
  uv_check_t check_;
  bool polling_ = false;        // inside a poller callback (libuv's poll phase)
  bool in_timer_ = false;       // inside OnTimer() (its poll's callbacks are not libuv's poll phase)
  int quiet_left_ = 0;          // idle ends the timer's last poll still answers for (OnTimer())
  void (*on_reports_)(void*);
  void* context_;
  // A connection's slot: the connection and where its entry sits in the due heap.
  struct Slot {
    Connection* connection;
    size_t heap_index;
  };
  std::vector<DueEntry> due_heap_;  // every lingering connection (see HeapPush)
  std::vector<Slot> slots_;         // indexed by a connection's slot; free ones in free_slots_
  std::vector<uint32_t> free_slots_;
  uint64_t timer_due_ = 0;      // loop time the timer fires at, 0 when stopped
  uint64_t last_scan_ = 0;
  std::vector<Report> reports_;
  std::unique_ptr<char[]> buffer_;  // where every connection's discarded bytes land
  bool shutting_down_ = false;
  int closing_ = 0;             // at teardown: our handles (timer, idle, check, poller) not yet closed
  void (*done_)(void*) = nullptr;
  void* done_context_ = nullptr;
};

}  // namespace lingerer
}  // namespace sockclose

#endif  // SOCKCLOSE_LINGERER_H_
