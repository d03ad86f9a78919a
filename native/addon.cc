// The Node-API surface: unpacks arguments, calls sys::, returns numbers. Policy, error objects and
// everything about Node's handles live in TypeScript (src/).
//
// Each function takes a descriptor and returns a non-negative result or -errno; none throws for a
// system failure, so no C++ exception ever meets the boundary (they are disabled: NAPI_DISABLE_CPP_
// EXCEPTIONS). Bad arguments throw a JavaScript TypeError/RangeError; src/ validates before calling,
// so those only guard against misuse of this internal module. When a worker is terminated in the
// middle of a call, Node-API refuses to create values or throw; NODE_API_SWALLOW_UNTHROWABLE_
// EXCEPTIONS makes node-addon-api drop such an exception instead of aborting the process, and the
// raw Node-API functions ignore the status of a throw or a result they could not create.
//
// Context-aware: all state lives in a per-environment EnvironmentState, so the main thread and
// each worker_thread have their own.
#include <napi.h>

#include <climits>
#include <cmath>

#include "exact_int.h"
#include "handed_out.h"
#include "lingerer_api.h"
#include "probe.h"
#include "sys.h"

namespace sockclose {
namespace {

// Bumped whenever the functions below change meaning; the loader refuses a binary that differs.
constexpr int kAbi = 11;

#if defined(__PASE__)
constexpr const char* kBuiltFor = "os400";
#elif defined(_AIX)
constexpr const char* kBuiltFor = "aix";
#elif defined(__linux__)
constexpr const char* kBuiltFor = "linux";
#elif defined(__APPLE__)
constexpr const char* kBuiltFor = "darwin";
#elif defined(__FreeBSD__)
constexpr const char* kBuiltFor = "freebsd";
#elif defined(__OpenBSD__)
constexpr const char* kBuiltFor = "openbsd";
#elif defined(__NetBSD__)
constexpr const char* kBuiltFor = "netbsd";
#elif defined(__DragonFly__)
constexpr const char* kBuiltFor = "dragonfly";  // gyp and Node call it freebsd; src/platform/detect.ts does not
#else
constexpr const char* kBuiltFor = "other";  // src/platform/detect.ts's name for any other Unix
#endif

void Throw(Napi::Env env, Napi::Error error, const char* code) {
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

// The hot functions below use Node-API directly, not node-addon-api's wrappers: one call per
// argument read (napi_get_value_double checks the type too), one per int32 result, nothing else.
// Measured with callgrind (docs/benchmarks.md), the wrappers (IsNumber, DoubleValue, a double
// result) cost ~230 instructions per call over this. JavaScript validates every argument before
// calling; these checks only keep misuse of the internal module from touching a wrong descriptor.

// Reads argument `value` as an integer in [min, INT_MAX], or throws and returns false.
bool ArgInt(napi_env env, napi_value value, int min, int* out) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "sockclose native: argument must be a number");
    return false;
  }
  if (!ExactInt(number, min, out)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "sockclose native: argument out of range");
    return false;
  }
  return true;
}

// Reads the function's N arguments (exactly as many as it takes: napi_get_cb_info fills each slot
// asked for beyond those passed) and its data. Missing arguments read as undefined, which ArgInt()
// refuses.
template <size_t N>
void Args(napi_env env, napi_callback_info info, napi_value (&argv)[N], void** data = nullptr) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, data);
}

// A result: napi_create_int32 fails only while the environment is being torn down (a terminated
// worker), and then nobody reads the value: nullptr reads as undefined.
napi_value Int(napi_env env, int value) {
  napi_value result = nullptr;
  napi_create_int32(env, value, &result);
  return result;
}

// Per-environment state (main thread and each worker have their own): the record probe() writes
// into. Given to attach() and probe() as their function data: no lookup per call.
//
// Only a reference to the record's ArrayBuffer is kept, never a pointer into it: JavaScript can
// detach the buffer (ArrayBuffer.prototype.transfer(), structuredClone or postMessage with a
// transfer list), which frees its memory. probe() re-reads the data pointer and length through the
// reference on every call (napi_get_reference_value + napi_get_arraybuffer_info: ~110 instructions
// under callgrind; napi_get_typedarray_info measured ~480) and refuses a detached or shrunk buffer
// with ERR_SOCKCLOSE_NATIVE_STATE.
struct EnvironmentState {
  Napi::Reference<Napi::ArrayBuffer> buffer_ref;
  size_t byte_offset = 0;  // of the Float64Array in its buffer: fixed for the array's life
};

constexpr size_t kRecordBytes = static_cast<size_t>(kProbeSlotCount) * sizeof(double);

// attach(record: Float64Array)
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* state = static_cast<EnvironmentState*>(info.Data());
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < static_cast<size_t>(kProbeSlotCount)) {
    Throw(env, Napi::TypeError::New(env, "sockclose native: attach() needs a Float64Array"), "ERR_INVALID_ARG_TYPE");
    return env.Undefined();
  }
  Napi::Float64Array record = info[0].As<Napi::Float64Array>();
  // ArrayBuffer() also moves a small array's data off the JavaScript heap, where it could move.
  state->buffer_ref = Napi::Persistent(record.ArrayBuffer());
  state->byte_offset = record.ByteOffset();
  return env.Undefined();
}

// The attached record's memory as of now, or nullptr (after throwing) if there is none usable.
double* RecordData(napi_env env, EnvironmentState* state) {
  napi_value buffer = nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (state->buffer_ref.IsEmpty() || napi_get_reference_value(env, state->buffer_ref, &buffer) != napi_ok || buffer == nullptr) {
    napi_throw_error(env, "ERR_SOCKCLOSE_NATIVE_STATE", "sockclose native: probe() before attach()");
    return nullptr;
  }
  // Detached: data is null and the length 0.
  if (napi_get_arraybuffer_info(env, buffer, &data, &length) != napi_ok || data == nullptr ||
      length < state->byte_offset || length - state->byte_offset < kRecordBytes) {
    napi_throw_error(env, "ERR_SOCKCLOSE_NATIVE_STATE",
                     "sockclose native: the probe record's ArrayBuffer was detached (transferred?); attach() a new one");
    return nullptr;
  }
  return reinterpret_cast<double*>(static_cast<char*>(data) + state->byte_offset);
}

// probe(fd, fields) -> 0 | -errno; fills the attached record.
napi_value Probe(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void* data = nullptr;
  Args(env, info, argv, &data);
  int fd = 0;
  int fields = 0;
  if (!ArgInt(env, argv[0], 0, &fd) || !ArgInt(env, argv[1], 0, &fields)) return nullptr;
  double* record = RecordData(env, static_cast<EnvironmentState*>(data));
  if (record == nullptr) return nullptr;
  return Int(env, sys::Probe(fd, static_cast<unsigned>(fields), record));
}

// setLinger(fd, seconds) -> 0 | -errno; seconds -1 turns SO_LINGER off. One number rather than a
// flag and a number: each argument read is a Node-API call, on the path of every setLinger().
napi_value SetLinger(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Args(env, info, argv);
  int fd = 0;
  int seconds = 0;
  if (!ArgInt(env, argv[0], 0, &fd) || !ArgInt(env, argv[1], -1, &seconds)) return nullptr;
  return Int(env, sys::SetLinger(fd, seconds >= 0, seconds >= 0 ? seconds : 0));
}

// getLinger(fd) -> seconds * 2 + enabled | -errno (one number: no object per call)
napi_value GetLinger(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Args(env, info, argv);
  int fd = 0;
  if (!ArgInt(env, argv[0], 0, &fd)) return nullptr;
  bool enabled = false;
  int seconds = 0;
  const int result = sys::GetLinger(fd, &enabled, &seconds);
  if (result < 0) return Int(env, result);
  if (seconds >= 0 && seconds <= (INT_MAX - 1) / 2) return Int(env, seconds * 2 + (enabled ? 1 : 0));
  // Past int32 when doubled: a double. A negative time (sys::kLingerUnbounded) is Infinity, which
  // JavaScript reads as "enabled, without limit"; a -errno is never a double.
  napi_value wide = nullptr;
  napi_create_double(env, seconds < 0 ? HUGE_VAL : static_cast<double>(seconds) * 2 + 1, &wide);
  return wide;
}

// takeError(fd) -> pending errno (0 if none) | -errno of getsockopt itself
napi_value TakeError(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Args(env, info, argv);
  int fd = 0;
  if (!ArgInt(env, argv[0], 0, &fd)) return nullptr;
  int error = 0;
  const int result = sys::TakeError(fd, &error);
  return Int(env, result < 0 ? result : error);
}

// setLinger()'s two common settings as one-argument calls (the per-call fast path's): a second
// argument costs a Node-API read and its checks on every call (~70 instructions under callgrind).
int LingerOff(int fd) { return sys::SetLinger(fd, false, 0); }
int LingerAbortive(int fd) { return sys::SetLinger(fd, true, 0); }

// The calls that take a descriptor and return one int, unchanged (a result or -errno):
//   lingerOff(fd)     -> 0 | -errno: SO_LINGER off
//   lingerAbortive(fd) -> 0 | -errno: SO_LINGER {1, 0}
//   pollRevents(fd)   -> ProbeRevents bits | -errno: peekSocketError's screen (a live TCP socket's fd)
//   resetHints(fd)    -> ResetHint bits | -errno: closeWouldReset's screen (a live TCP socket's fd)
//   shutdownWrite(fd) -> 0 | -errno
//   close(fd)         -> 0 | -errno
//   handedOut(fd)     -> 0 | -errno: records the number as handed to JavaScript (handed_out.h)
//   handedOutHeld(fd) -> 1 | 0: whether a number recorded by any thread still names that socket
template <int (*Call)(int)>
napi_value FdToInt(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Args(env, info, argv);
  int fd = 0;
  if (!ArgInt(env, argv[0], 0, &fd)) return nullptr;
  return Int(env, Call(fd));
}

// Sets exports[name] to a function made straight from a Node-API callback.
void SetRaw(Napi::Env env, Napi::Object exports, const char* name, napi_callback callback, void* data = nullptr) {
  napi_value function = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, data, &function) != napi_ok) return;
  exports.Set(name, Napi::Value(env, function));
}

// attach() is a node-addon-api function made from a compile-time callback (Function::New<cb>): no
// per-function heap data, no instance lookup on a call. The per-call functions are raw Node-API
// callbacks (SetRaw). Any function added here follows one of the two patterns.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new EnvironmentState();
  env.SetInstanceData(state);  // deleted with the environment

  Napi::Array slots = Napi::Array::New(env, kProbeSlotCount);
  uint32_t i = 0;
#define SOCKCLOSE_SLOT_NAME(name, str) slots.Set(i++, Napi::String::New(env, str));
  SOCKCLOSE_PROBE_SLOTS(SOCKCLOSE_SLOT_NAME)
#undef SOCKCLOSE_SLOT_NAME

  exports.Set("abi", Napi::Number::New(env, kAbi));
  exports.Set("builtFor", Napi::String::New(env, kBuiltFor));
  exports.Set("slots", slots);
  exports.Set("attach", Napi::Function::New<Attach>(env, "attach", state));
  SetRaw(env, exports, "probe", Probe, state);
  SetRaw(env, exports, "setLinger", SetLinger);
  SetRaw(env, exports, "getLinger", GetLinger);
  SetRaw(env, exports, "takeError", TakeError);
  SetRaw(env, exports, "lingerOff", FdToInt<LingerOff>);
  SetRaw(env, exports, "lingerAbortive", FdToInt<LingerAbortive>);
  SetRaw(env, exports, "pollRevents", FdToInt<sys::PollRevents>);
  SetRaw(env, exports, "resetHints", FdToInt<sys::ResetHints>);
  SetRaw(env, exports, "shutdownWrite", FdToInt<sys::ShutdownWrite>);
  SetRaw(env, exports, "close", FdToInt<sys::Close>);
  SetRaw(env, exports, "handedOut", FdToInt<handed_out::Record>);
  SetRaw(env, exports, "handedOutHeld", FdToInt<handed_out::StillHeld>);
  RegisterLingerer(env, exports);  // on failure its exception is pending: the loader reports it
  return exports;
}

}  // namespace
}  // namespace sockclose

// The registration macro pastes the function name into an identifier: it needs an unqualified one.
static Napi::Object InitSockclose(Napi::Env env, Napi::Object exports) { return sockclose::Init(env, exports); }
NODE_API_MODULE(sockclose, InitSockclose)
