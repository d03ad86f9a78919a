// The lingerer's Node-API functions (lingerer_api.cc), added to the addon's exports by addon.cc.
#ifndef SOCKCLOSE_LINGERER_API_H_
#define SOCKCLOSE_LINGERER_API_H_

#include <node_api.h>

namespace sockclose {

// Adds lingerStart, lingerSink and lingerCount to `exports`; false (with a JavaScript exception
// pending) if Node-API refused. The environment's lingerer is created on first use and torn down
// by an asynchronous cleanup hook (worker termination, process exit).
bool RegisterLingerer(napi_env env, napi_value exports);

}  // namespace sockclose

#endif  // SOCKCLOSE_LINGERER_API_H_
