// The audit's own test (check.js, auditSelfTest): a bundle that imports two symbols the audit must
// reject, a Node-API function newer than NAPI_VERSION 8 and a V8 internal, next to three it must
// accept. Declared by hand so that nothing here depends on which headers are installed.
#include <string.h>

extern "C" int napi_create_object(void* env, void** result);                                // Node-API 1
extern "C" int uv_close(void* handle, void* callback);                                      // libuv
extern "C" int node_api_symbol_for(void* env, const char* s, unsigned long n, void** out);  // Node-API 9
namespace v8 {
class Isolate {
 public:
  static Isolate* GetCurrent();  // V8 internals: not part of any stable ABI
};
}  // namespace v8

extern "C" __attribute__((visibility("default"))) long sockclose_self_test(void* env, char* to, const char* from,
                                                                           unsigned long n) {
  memcpy(to, from, n);
  return napi_create_object(env, nullptr) + uv_close(env, nullptr) + node_api_symbol_for(env, from, n, nullptr) +
         (v8::Isolate::GetCurrent() != nullptr);
}
