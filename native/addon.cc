// The Node-API surface: unpacks arguments, calls sys::, returns numbers. Policy, error objects and
// everything about Node's handles live in TypeScript (src/).
//
// Each function takes a descriptor and returns a non-negative result or -errno; none throws for a
// system failure, so no C++ exception ever meets the boundary (they are disabled: NAPI_DISABLE_CPP_
// EXCEPTIONS). Bad arguments throw a JavaScript TypeError/RangeError; src/ validates before calling,
// so those only guard against misuse of this internal module. When a worker is terminated in the
// middle of a call, Node-API refuses to create values or throw; NODE_API_SWALLOW_UNTHROWABLE_
// EXCEPTIONS makes node-addon-api drop such an exception instead of aborting the process.
//
// Context-aware: all state lives in a per-environment EnvironmentState, so the main thread and
// each worker_thread have their own.
#include <napi.h>

#include <climits>
#include <cmath>

#include "lingerer_api.h"
#include "probe.h"
#include "sys.h"

namespace sockclose {
namespace {

// Bumped whenever the functions below change meaning; the loader refuses a binary that differs.
constexpr int kAbi = 3;

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

bool ReadInt(const Napi::CallbackInfo& info, size_t index, int min, int* out) {
  Napi::Env env = info.Env();
  if (!info[index].IsNumber()) {
    Throw(env, Napi::TypeError::New(env, "sockclose native: argument must be a number"),
          "ERR_INVALID_ARG_TYPE");
    return false;
  }
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= INT_MAX) || std::floor(value) != value) {
    Throw(env, Napi::RangeError::New(env, "sockclose native: argument out of range"),
          "ERR_OUT_OF_RANGE");
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

// Per-environment state (main thread and each worker have their own): the record probe() writes
// into, held for the environment's life so its memory stays valid (an ArrayBuffer's backing store
// never moves). Given to probe() as its function data: no lookup per call.
struct EnvironmentState {
  Napi::Reference<Napi::Float64Array> record_ref;
  double* record = nullptr;
};

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
  state->record_ref = Napi::Persistent(record);
  state->record = record.Data();
  return env.Undefined();
}

// probe(fd, fields) -> 0 | -errno; fills the attached record.
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* state = static_cast<EnvironmentState*>(info.Data());
  int fd = 0;
  int fields = 0;
  if (!ReadInt(info, 0, 0, &fd) || !ReadInt(info, 1, 0, &fields)) return env.Undefined();
  if (state->record == nullptr) {
    Throw(env, Napi::Error::New(env, "sockclose native: probe() before attach()"), "ERR_SOCKCLOSE_NATIVE_STATE");
    return env.Undefined();
  }
  return Napi::Number::New(env, sys::Probe(fd, static_cast<unsigned>(fields), state->record));
}

// setLinger(fd, seconds) -> 0 | -errno; seconds -1 turns SO_LINGER off. One number rather than a
// flag and a number: each argument read is a Node-API call, on the path of every setLinger().
Napi::Value SetLinger(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = 0;
  int seconds = 0;
  if (!ReadInt(info, 0, 0, &fd) || !ReadInt(info, 1, -1, &seconds)) return env.Undefined();
  return Napi::Number::New(env, sys::SetLinger(fd, seconds >= 0, seconds >= 0 ? seconds : 0));
}

// getLinger(fd) -> seconds * 2 + enabled | -errno (one number: no object per call)
Napi::Value GetLinger(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = 0;
  if (!ReadInt(info, 0, 0, &fd)) return env.Undefined();
  bool enabled = false;
  int seconds = 0;
  const int result = sys::GetLinger(fd, &enabled, &seconds);
  if (result < 0) return Napi::Number::New(env, result);
  return Napi::Number::New(env, static_cast<double>(seconds) * 2 + (enabled ? 1 : 0));
}

// takeError(fd) -> pending errno (0 if none) | -errno of getsockopt itself
Napi::Value TakeError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = 0;
  if (!ReadInt(info, 0, 0, &fd)) return env.Undefined();
  int error = 0;
  const int result = sys::TakeError(fd, &error);
  return Napi::Number::New(env, result < 0 ? result : error);
}

// shutdownWrite(fd) -> 0 | -errno
Napi::Value ShutdownWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = 0;
  if (!ReadInt(info, 0, 0, &fd)) return env.Undefined();
  return Napi::Number::New(env, sys::ShutdownWrite(fd));
}

// close(fd) -> 0 | -errno
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = 0;
  if (!ReadInt(info, 0, 0, &fd)) return env.Undefined();
  return Napi::Number::New(env, sys::Close(fd));
}

// The functions are created from compile-time callbacks (Function::New<cb>): node-addon-api then
// keeps no per-function heap data and does no instance lookup on a call.
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
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe", state));
  exports.Set("setLinger", Napi::Function::New<SetLinger>(env, "setLinger"));
  exports.Set("getLinger", Napi::Function::New<GetLinger>(env, "getLinger"));
  exports.Set("takeError", Napi::Function::New<TakeError>(env, "takeError"));
  exports.Set("shutdownWrite", Napi::Function::New<ShutdownWrite>(env, "shutdownWrite"));
  exports.Set("close", Napi::Function::New<Close>(env, "close"));
  RegisterLingerer(env, exports);  // on failure its exception is pending: the loader reports it
  return exports;
}

}  // namespace
}  // namespace sockclose

// The registration macro pastes the function name into an identifier: it needs an unqualified one.
static Napi::Object InitSockclose(Napi::Env env, Napi::Object exports) { return sockclose::Init(env, exports); }
NODE_API_MODULE(sockclose, InitSockclose)
