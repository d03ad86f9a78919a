// The lingerer's Node-API surface: lingerStart() hands a descriptor over, lingerSink() names the
// JavaScript function that receives finished lingers in batches, lingerCount() says how many
// linger now, lingerCut() and lingerCutGroup() end one, or a server's, at their caller's word.
// Plain Node-API (no node-addon-api wrappers) on this path: it runs once per closed connection.
// Arguments are validated by src/lingering/native-lingerer.ts; here they are only
// guarded.
#include "lingerer_api.h"

#include <uv.h>

#include <cstdint>
#include <vector>

#include "exact_int.h"
#include "lingerer.h"

namespace sockclose {
namespace {

// A report in the batch: token, group, reason, errno, reset (1/0), drained bytes, duration (ms),
// unread bytes when a bound ended it (Report::unread_bytes), our bytes unsent at a reset
// (Report::unsent_bytes), the TCP state read with them (Report::tcp_state).
constexpr size_t kReportFields = 10;

// Per environment (main thread, each worker): given to the functions as their data.
struct LingererState {
  explicit LingererState(napi_env e) : env(e) {}
  napi_env env;
  lingerer::Lingerer* lingerer = nullptr;  // created by the first lingerStart()
  napi_ref sink = nullptr;
  napi_ref resource = nullptr;  // the async resource behind async_context, kept alive with it
  napi_async_context async_context = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  std::vector<lingerer::Report> batch;
};

// From the loop: the finished lingers, one Float64Array, one call into JavaScript.
void DeliverReports(void* context) {
  auto* state = static_cast<LingererState*>(context);
  state->lingerer->TakeReports(&state->batch);
  if (state->batch.empty() || state->sink == nullptr) return;
  napi_env env = state->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  const size_t length = state->batch.size() * kReportFields;
  void* data = nullptr;
  napi_value buffer, array, sink, receiver, result;
  if (napi_create_arraybuffer(env, length * sizeof(double), &data, &buffer) == napi_ok &&
      napi_create_typedarray(env, napi_float64_array, length, buffer, 0, &array) == napi_ok &&
      napi_get_reference_value(env, state->sink, &sink) == napi_ok && sink != nullptr &&
      napi_get_global(env, &receiver) == napi_ok) {
    auto* out = static_cast<double*>(data);
    for (const lingerer::Report& report : state->batch) {
      *out++ = report.token;
      *out++ = report.group;
      *out++ = report.reason;
      *out++ = report.error;
      *out++ = report.reset ? 1 : 0;
      *out++ = report.drained_bytes;
      *out++ = report.duration_ms;
      *out++ = report.unread_bytes;
      *out++ = report.unsent_bytes;
      *out++ = report.tcp_state;
    }
    // napi_make_callback: async hooks see the call, and microtasks run after it, as after any
    // libuv callback into JavaScript. An exception is the process's, as from an event listener.
    if (napi_make_callback(env, state->async_context, receiver, sink, 1, &array, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  state->batch.clear();
  napi_close_handle_scope(env, scope);
}

// An integer argument in [0, INT_MAX], exactly (exact_int.h).
bool NonNegativeInt(napi_env env, napi_value value, int32_t* out) {
  double number = 0;
  return napi_get_value_double(env, value, &number) == napi_ok && ExactInt(number, 0, out);
}

// A uint32 argument (a token or a group), exactly (exact_int.h).
bool Uint32(napi_env env, napi_value value, uint32_t* out) {
  double number = 0;
  return napi_get_value_double(env, value, &number) == napi_ok && ExactUint32(number, out);
}

napi_value Int32(napi_env env, int32_t value) {
  napi_value out = nullptr;
  napi_create_int32(env, value, &out);
  return out;
}

// lingerStart(fd, token, group, flags, idleMs, leftMs, maxDrainBytes, drainedBytes, elapsedMs,
//             idleSpentMs, readBytes, writtenBytes)
//   -> 0 (lingering) | 1 (abortive: SO_LINGER {1, 0} is set, nothing taken) | -errno
// idleSpentMs: milliseconds since the close's last progress before the hand-over: the idle clock
// of the stages before (half-closed, flushing) runs on (interface version 10). readBytes and
// writtenBytes: what Node's handle read from the descriptor and handed to it (its bytesRead, its
// bytesWritten with its write queue empty), -1 if unknown: with them the lingerer's first look
// needs no read on Linux (sys::platform::PeerAfterRead(); interface version 11).
napi_value LingerStart(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* state = static_cast<LingererState*>(data);
  int32_t fd = -1, flags = 0, idle = -1, left = -1;
  uint32_t token = 0, group = 0;
  int32_t idle_spent = -1;
  double max_drain = 0, drained = 0, elapsed = 0, read_bytes = -1, written_bytes = -1;
  if (argc < 12 || !NonNegativeInt(env, argv[0], &fd) ||
      !Uint32(env, argv[1], &token) || !Uint32(env, argv[2], &group) ||
      !NonNegativeInt(env, argv[3], &flags) || !NonNegativeInt(env, argv[4], &idle) ||
      !NonNegativeInt(env, argv[5], &left) ||
      napi_get_value_double(env, argv[6], &max_drain) != napi_ok ||
      napi_get_value_double(env, argv[7], &drained) != napi_ok ||
      napi_get_value_double(env, argv[8], &elapsed) != napi_ok ||
      !NonNegativeInt(env, argv[9], &idle_spent) ||
      napi_get_value_double(env, argv[10], &read_bytes) != napi_ok ||
      napi_get_value_double(env, argv[11], &written_bytes) != napi_ok ||
      // NaN would disable the drain limit (every comparison with it is false) and count nothing.
      !(max_drain >= 0) || !(drained >= 0) || !(elapsed >= 0) ||
      !(read_bytes >= -1) || !(written_bytes >= -1)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sockclose native: lingerStart() takes 12 numbers");
    return nullptr;
  }
  if (state->lingerer == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return Int32(env, -ENOSYS);
    state->lingerer = new lingerer::Lingerer(loop, DeliverReports, state);
  }
  lingerer::StartRequest request;
  request.fd = fd;
  request.token = token;
  request.group = group;
  request.flags = static_cast<unsigned>(flags);
  request.idle_ms = static_cast<uint64_t>(idle);
  request.left_ms = static_cast<uint64_t>(left);
  request.max_drain_bytes = max_drain;
  request.drained_bytes = drained;
  request.elapsed_ms = elapsed;
  request.idle_ms_spent = static_cast<uint64_t>(idle_spent);
  request.read_bytes = read_bytes;
  request.written_bytes = written_bytes;
  return Int32(env, state->lingerer->Start(request));
}

// lingerSink(fn): fn(reports: Float64Array) receives every batch from now on.
napi_value LingerSink(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  auto* state = static_cast<LingererState*>(data);
  napi_valuetype type = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sockclose native: lingerSink() takes a function");
    return nullptr;
  }
  if (state->sink != nullptr) napi_delete_reference(env, state->sink);
  state->sink = nullptr;
  napi_create_reference(env, argv[0], 1, &state->sink);
  return nullptr;
}

// The one uint32 argument of lingerCut() and lingerCutGroup(), and the state; false (after
// throwing) if there is none.
bool CutArgument(napi_env env, napi_callback_info info, const char* refusal, LingererState** state, uint32_t* value) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return false;
  *state = static_cast<LingererState*>(data);
  if (argc < 1 || !Uint32(env, argv[0], value)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", refusal);
    return false;
  }
  return true;
}

// lingerCut(token) -> 1 if that linger was running (it ends now: lingerer.h Cut()), else 0.
napi_value LingerCut(napi_env env, napi_callback_info info) {
  LingererState* state = nullptr;
  uint32_t token = 0;
  if (!CutArgument(env, info, "sockclose native: lingerCut() takes a number", &state, &token)) return nullptr;
  return Int32(env, state->lingerer != nullptr && state->lingerer->Cut(token) ? 1 : 0);
}

// lingerCutGroup(group) -> how many lingers of that group (a server's) there were: all end now.
napi_value LingerCutGroup(napi_env env, napi_callback_info info) {
  LingererState* state = nullptr;
  uint32_t group = 0;
  if (!CutArgument(env, info, "sockclose native: lingerCutGroup() takes a number", &state, &group)) return nullptr;
  return Int32(env, state->lingerer != nullptr ? static_cast<int32_t>(state->lingerer->CutGroup(group)) : 0);
}

// lingerCount() -> connections lingering now in this environment.
napi_value LingerCount(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  if (napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data) != napi_ok) return nullptr;
  auto* state = static_cast<LingererState*>(data);
  return Int32(env, state->lingerer != nullptr ? static_cast<int32_t>(state->lingerer->Count()) : 0);
}

// Last step of the teardown, once libuv has closed every handle of ours.
void Release(void* context) {
  auto* state = static_cast<LingererState*>(context);
  napi_async_cleanup_hook_handle handle = state->cleanup;
  if (state->async_context != nullptr) napi_async_destroy(state->env, state->async_context);
  if (state->sink != nullptr) napi_delete_reference(state->env, state->sink);
  if (state->resource != nullptr) napi_delete_reference(state->env, state->resource);
  delete state->lingerer;
  delete state;
  napi_remove_async_cleanup_hook(handle);
}

// The environment is going away (a worker terminated, the process exiting): close every lingering
// descriptor now, then let libuv close our handles before the loop is closed.
void OnCleanup(napi_async_cleanup_hook_handle handle, void* context) {
  auto* state = static_cast<LingererState*>(context);
  state->cleanup = handle;
  if (state->lingerer != nullptr) {
    state->lingerer->Shutdown(Release, state);
  } else {
    Release(state);
  }
}

bool Export(napi_env env, napi_value exports, const char* name, napi_callback callback, LingererState* state) {
  napi_value function;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, state, &function) == napi_ok &&
         napi_set_named_property(env, exports, name, function) == napi_ok;
}

}  // namespace

bool RegisterLingerer(napi_env env, napi_value exports) {
  auto* state = new LingererState(env);
  napi_value name, resource;
  if (napi_create_string_utf8(env, "sockclose:lingerer", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &state->resource) != napi_ok ||
      napi_async_init(env, resource, name, &state->async_context) != napi_ok ||
      napi_add_async_cleanup_hook(env, OnCleanup, state, nullptr) != napi_ok) {
    if (state->async_context != nullptr) napi_async_destroy(env, state->async_context);
    if (state->resource != nullptr) napi_delete_reference(env, state->resource);
    delete state;
    return false;
  }
  // From here the cleanup hook owns `state`.
  napi_value prepare_call;
  return Export(env, exports, "lingerStart", LingerStart, state) &&
         Export(env, exports, "lingerSink", LingerSink, state) &&
         Export(env, exports, "lingerCount", LingerCount, state) &&
         Export(env, exports, "lingerCut", LingerCut, state) &&
         Export(env, exports, "lingerCutGroup", LingerCutGroup, state) &&
         napi_create_string_utf8(env, lingerer::Poller::kPrepareCall, NAPI_AUTO_LENGTH, &prepare_call) == napi_ok &&
         napi_set_named_property(env, exports, "lingerPrepareCall", prepare_call) == napi_ok;
}

}  // namespace sockclose
