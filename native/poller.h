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
// Readiness is level-triggered: what a callback leaves unread is reported again.
#ifndef SOCKCLOSE_POLLER_H_
#define SOCKCLOSE_POLLER_H_

#include <uv.h>

namespace sockclose {
namespace lingerer {

// The backend's per-connection state (nothing for epoll; a uv_poll_t for poller_uv.cc).
struct Watch;

class Poller {
 public:
  // `ready(data, error)` runs on the loop for each readable connection; `error` when the backend
  // saw an error condition (the reads that follow name it).
  Poller(uv_loop_t* loop, void (*ready)(void* data, bool error));
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  ~Poller();

  // Makes what Add() needs that could fail for want of a descriptor (the epoll backend's own, on
  // first use): 0, or -errno. Lets the lingerer refuse a connection at its hand-over, when the
  // caller can still close it as it would without a lingerer, rather than at its first Add().
  int Prepare();
  // The call Prepare() makes that can fail, named in the caller's error reports ("" if none).
  static const char* const kPrepareCall;

  // Starts watching `fd` for `data`: 0, or -errno (nothing is watched then).
  int Add(int fd, void* data, Watch** watch);

  // Stops watching, before the caller closes `fd`; `watch` is released by the backend.
  void Remove(int fd, Watch* watch);

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
