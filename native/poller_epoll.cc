// Linux: one epoll descriptor per lingerer, itself watched by a single uv_poll_t (see poller.h).
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
  void (*ready)(void*, bool);
  int epoll_fd = -1;
  bool watching = false;   // the uv_poll_t on epoll_fd is initialised
  int closing = 0;
  void (*done)(void*) = nullptr;
  void* done_context = nullptr;
  uv_poll_t poll;
  epoll_event events[kEventsPerWakeup];

  static void OnReadable(uv_poll_t* handle, int /*status*/, int /*events*/) {
    auto* self = static_cast<Backend*>(handle->data);
    int count;
    do {
      count = epoll_wait(self->epoll_fd, self->events, kEventsPerWakeup, 0);
    } while (count < 0 && errno == EINTR);
    // Each descriptor appears at most once per call, and a callback only ever ends its own
    // connection: the pointers of the events still to come stay valid.
    for (int i = 0; i < count; i++) {
      // EPOLLHUP is no error: it only says both directions are shut (our FIN, then the peer's).
      self->ready(self->events[i].data.ptr, (self->events[i].events & EPOLLERR) != 0);
    }
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* self = static_cast<Backend*>(handle->data);
    close(self->epoll_fd);
    self->epoll_fd = -1;
    if (self->done != nullptr) self->done(self->done_context);
  }
};

Poller::Poller(uv_loop_t* loop, void (*ready)(void*, bool)) : backend_(new Backend()) {
  backend_->loop = loop;
  backend_->ready = ready;
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

int Poller::Add(int fd, void* data, Watch** watch) {
  *watch = nullptr;
  const int prepared = Prepare();
  if (prepared != 0) return prepared;
  Backend* b = backend_;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.ptr = data;
  return epoll_ctl(b->epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

void Poller::Remove(int fd, Watch* /*watch*/) {
  // Explicitly: epoll drops an entry by itself only when the last descriptor of the socket closes,
  // and Node's copy may still be open.
  if (backend_->epoll_fd >= 0) epoll_ctl(backend_->epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
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
