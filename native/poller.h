// How the lingerer learns that a lingering connection is readable: one interface, one event
// mechanism per file, as libuv's unix/ keeps them.
//
//   poller_epoll.cc  Linux: one epoll descriptor of our own under a single uv_poll_t. Adding a
//                    connection is one epoll_ctl(); libuv's own uv_poll_t per connection costs
//                    four more syscalls (its pollability check is an ADD and a DEL, then
//                    O_NONBLOCK, then the ADD) and a handle to uv_close() for each.
//   poller_uv.cc     Everywhere else: a uv_poll_t per connection, so that libuv picks kqueue,
//                    event ports or pollset, one design for every Unix.
//
// Readiness is level-triggered: what a callback leaves unread is reported again (once re-armed).
#ifndef SOCKCLOSE_POLLER_H_
#define SOCKCLOSE_POLLER_H_

#include <uv.h>

#include <cstdint>

namespace sockclose {
namespace lingerer {

// The backend's per-connection state (nothing for epoll; a uv_poll_t for poller_uv.cc).
struct Watch;

class Poller {
 public:
  // `ready(context, key, error)` runs on the loop for each readable connection, with the key it
  // was added under; `error` when the backend saw an error condition (the reads that follow name
  // it). A key, not a pointer: an epoll entry can outlive our descriptor (Remove()), so the
  // caller checks that the key still names a connection of its own.
  Poller(uv_loop_t* loop, void (*ready)(void* context, uint64_t key, bool error), void* context);
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  ~Poller();

  // Makes what Add() needs that could fail for want of a descriptor (the epoll backend's own, on
  // first use): 0, or -errno. Lets the lingerer refuse a connection at its hand-over, when the
  // caller can still close it as it would without a lingerer, rather than at its first Add().
  int Prepare();
  // The call Prepare() makes that can fail, named in the caller's error reports ("" if none).
  static const char* const kPrepareCall;

  // Starts watching `fd` under `key`: 0, or -errno (nothing is watched then).
  int Add(int fd, uint64_t key, Watch** watch);

  // After `ready` for a connection that stays watched: watches it for the next event (the epoll
  // backend's entries are one-shot; libuv's polls go on by themselves). 0, or -errno.
  int Rearm(int fd, uint64_t key, Watch* watch);

  // Runs `ready` now, from the caller's context, for every watched connection that is readable, as
  // libuv's poll phase would. True if that was all of them: a watched connection not reported then
  // had nothing to read, no FIN and no error. False where the backend cannot tell that (poller_uv.cc:
  // libuv polls only in its own phase) or when more were ready than one look takes.
  bool PollNow();

  // Stops watching; `watch` is released by the backend. `closing`: the caller closes `fd` right
  // after, and it is the connection's last descriptor as far as the caller knows (the epoll
  // backend then leaves the entry to the close, one syscall less).
  void Remove(int fd, Watch* watch, bool closing);

  // Environment teardown (every connection already removed): `done(context)` runs from the loop
  // once libuv has let go of the backend's handles; then the object may be deleted.
  void Close(void (*done)(void* context), void* context);

 private:
  struct Backend;
  Backend* backend_;
};

}  // namespace lingerer
}  // namespace sockclose

#endif  // SOCKCLOSE_POLLER_H_
