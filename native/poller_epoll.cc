// Linux: one epoll descriptor per lingerer, itself watched by a single uv_poll_t (see poller.h).
//
// Entries are one-shot (EPOLLONESHOT), re-armed after each event the lingerer keeps watching
// (Rearm()), so that a connection's close needs no EPOLL_CTL_DEL: closing the last descriptor of a
// socket drops its entry, and the DEL was 0.8 us of the 9 us a silent peer's timed-out linger costs
// the kernel here (bench/lingering/close-steps.c, cold caches). Where another descriptor of the
// socket lives on (a fork between its fork() and exec()), the entry outlives ours: it can fire at
// most once more, with a key the lingerer no longer knows, and is ignored.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "poller.h"

namespace sockclose {
namespace lingerer {

struct Watch {};

namespace {
// Events taken per wake-up; more wait for the next (level-triggered: nothing is lost).
constexpr int kEventsPerWakeup = 256;
}  // namespace

struct Poller::Backend {
  uv_loop_t* loop;
  void (*ready)(void*, uint64_t, bool);
  void* context;
  int epoll_fd = -1;
  bool watching = false;   // the uv_poll_t on epoll_fd is initialised
  int closing = 0;
  void (*done)(void*) = nullptr;
  void* done_context = nullptr;
  uv_poll_t poll;
  epoll_event events[kEventsPerWakeup];

  // Takes what is ready (without waiting) and reports it: how many, or -1 if epoll_wait() failed.
  int Dispatch() {
    int count;
    do {
      count = epoll_wait(epoll_fd, events, kEventsPerWakeup, 0);
    } while (count < 0 && errno == EINTR);
    for (int i = 0; i < count; i++) {
      // EPOLLHUP is no error: it only says both directions are shut (our FIN, then the peer's).
      ready(context, events[i].data.u64, (events[i].events & EPOLLERR) != 0);
    }
    return count;
  }

  static void OnReadable(uv_poll_t* handle, int /*status*/, int /*events*/) {
    static_cast<Backend*>(handle->data)->Dispatch();
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* self = static_cast<Backend*>(handle->data);
    close(self->epoll_fd);
    self->epoll_fd = -1;
    if (self->done != nullptr) self->done(self->done_context);
  }
};

Poller::Poller(uv_loop_t* loop, void (*ready)(void*, uint64_t, bool), void* context) : backend_(new Backend()) {
  backend_->loop = loop;
  backend_->ready = ready;
  backend_->context = context;
}

Poller::~Poller() {
  if (backend_->epoll_fd >= 0 && !backend_->watching) close(backend_->epoll_fd);
  delete backend_;
}

const char* const Poller::kPrepareCall = "epoll_create1";

int Poller::Prepare() {
  Backend* b = backend_;
  if (b->epoll_fd < 0) {
    // Created on first use: an environment that never lingers holds no descriptor for it.
    b->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (b->epoll_fd < 0) return -errno;
    b->poll.data = b;
    int result = uv_poll_init(b->loop, &b->poll, b->epoll_fd);
    if (result == 0) result = uv_poll_start(&b->poll, UV_READABLE, Backend::OnReadable);
    if (result != 0) {
      close(b->epoll_fd);
      b->epoll_fd = -1;
      return result;
    }
    b->watching = true;
    // Only the lingerer's timer keeps the loop alive: one reference for all, bounded by the caps.
    uv_unref(reinterpret_cast<uv_handle_t*>(&b->poll));
  }
  return 0;
}

namespace {
// Readable, or the peer's FIN (EPOLLRDHUP); errors and hang-ups are always reported.
constexpr uint32_t kWatchEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
}  // namespace

int Poller::Add(int fd, uint64_t key, Watch** watch) {
  *watch = nullptr;
  const int prepared = Prepare();
  if (prepared != 0) return prepared;
  Backend* b = backend_;
  epoll_event event{};
  event.events = kWatchEvents;
  event.data.u64 = key;
  if (epoll_ctl(b->epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
  // The same socket at the same number, its entry left by an earlier close of ours while another
  // descriptor of it lived on (see the top of this file): the entry is taken over.
  if (errno == EEXIST && epoll_ctl(b->epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
  return -errno;
}

int Poller::Rearm(int fd, uint64_t key, Watch* /*watch*/) {
  epoll_event event{};
  event.events = kWatchEvents;
  event.data.u64 = key;
  return epoll_ctl(backend_->epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : -errno;
}

// Entries are one-shot, re-armed after every event (Rearm()): at any moment between the lingerer's
// callbacks, every watched connection is armed, and one epoll_wait() with fewer events than it
// takes has reported all that are ready.
bool Poller::PollNow() {
  if (backend_->epoll_fd < 0) return false;
  const int count = backend_->Dispatch();
  return count >= 0 && count < kEventsPerWakeup;
}

void Poller::Remove(int fd, Watch* /*watch*/, bool closing) {
  // Left to the close when it is about to come; else explicitly: epoll drops an entry by itself
  // only when the last descriptor of the socket closes.
  if (!closing && backend_->epoll_fd >= 0) epoll_ctl(backend_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
}

void Poller::Close(void (*done)(void*), void* context) {
  Backend* b = backend_;
  if (!b->watching) {
    if (b->epoll_fd >= 0) close(b->epoll_fd);
    b->epoll_fd = -1;
    done(context);
    return;
  }
  b->done = done;
  b->done_context = context;
  uv_close(reinterpret_cast<uv_handle_t*>(&b->poll), Backend::OnClosed);
}

}  // namespace lingerer
}  // namespace sockclose
