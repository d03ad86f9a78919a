// Every Unix but Linux: a uv_poll_t per connection, so that libuv's own mechanism (kqueue, event
// ports, pollset) does the watching (see poller.h).
#include <cerrno>

#include "poller.h"

namespace sockclose {
namespace lingerer {

struct Watch {
  uv_poll_t poll;
  uint64_t key;
  Poller* owner;
};

struct Poller::Backend {
  uv_loop_t* loop;
  void (*ready)(void*, uint64_t, bool);
  void* context;
  int closing = 0;  // watches given to uv_close() whose callback has not run
  bool shutting_down = false;
  void (*done)(void*) = nullptr;
  void* done_context = nullptr;

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* watch = static_cast<Watch*>(handle->data);
    // status < 0: libuv saw POLLERR and stopped watching; the reads that follow name the error.
    Backend* self = watch->owner->backend_;
    self->ready(self->context, watch->key, status < 0);
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* watch = static_cast<Watch*>(handle->data);
    Backend* self = watch->owner->backend_;
    delete watch;
    self->closing--;
    if (self->shutting_down && self->closing == 0 && self->done != nullptr) self->done(self->done_context);
  }
};

Poller::Poller(uv_loop_t* loop, void (*ready)(void*, uint64_t, bool), void* context) : backend_(new Backend()) {
  backend_->loop = loop;
  backend_->ready = ready;
  backend_->context = context;
}

Poller::~Poller() { delete backend_; }

// A uv_poll_t takes no descriptor of its own.
const char* const Poller::kPrepareCall = "";

int Poller::Prepare() { return 0; }

int Poller::Add(int fd, uint64_t key, Watch** watch) {
  auto* created = new Watch();
  created->key = key;
  created->owner = this;
  created->poll.data = created;
  int result = uv_poll_init(backend_->loop, &created->poll, fd);
  if (result != 0) {
    delete created;  // uv_poll_init failed before the handle joined the loop
    *watch = nullptr;
    return result;
  }
  // Only the lingerer's timer keeps the loop alive: one reference for all, bounded by the caps.
  uv_unref(reinterpret_cast<uv_handle_t*>(&created->poll));
  result = uv_poll_start(&created->poll, UV_READABLE, Backend::OnReadable);
  *watch = created;
  if (result != 0) {
    Remove(fd, created, false);
    *watch = nullptr;
  }
  return result;
}

// A uv_poll_t watches until stopped.
int Poller::Rearm(int /*fd*/, uint64_t /*key*/, Watch* /*watch*/) { return 0; }

// libuv polls only in its own phase of the loop: nothing to tell here.
bool Poller::PollNow() { return false; }

// Stopped either way: libuv keeps its own table of watched descriptors, which must not name a
// number after it is freed.
void Poller::Remove(int /*fd*/, Watch* watch, bool /*closing*/) {
  if (watch == nullptr) return;
  uv_poll_stop(&watch->poll);  // out of the backend before the caller frees the number
  backend_->closing++;
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), Backend::OnClosed);
}

void Poller::Close(void (*done)(void*), void* context) {
  backend_->shutting_down = true;
  if (backend_->closing == 0) {
    done(context);
    return;
  }
  backend_->done = done;
  backend_->done_context = context;
}

}  // namespace lingerer
}  // namespace sockclose
