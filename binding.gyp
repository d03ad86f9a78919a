# node-gyp build of the addon. CMakeLists.txt is the equivalent cmake-js build; keep them in step.
{
  "variables": {
    # `node-gyp configure -- -Dsockclose_werror=true` (our own build script does) turns warnings
    # into errors; installs from source on users' machines stay lenient.
    "sockclose_werror%": "false",
    # The lingerer's event mechanism on Linux (native/poller.h): "epoll" (our own descriptor) or
    # "uv" (a uv_poll_t per connection, what every other Unix uses; the suite runs it on Linux too).
    "sockclose_poller%": "epoll"
  },
  "targets": [
    {
      "target_name": "sockclose",
      "sources": ["native/addon.cc", "native/handed_out.cc", "native/lingerer.cc", "native/lingerer_api.cc", "native/sys_posix.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": ["-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions", "-fno-rtti"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "10.15",
        "WARNING_CFLAGS": ["-Wall", "-Wextra"]
      },
      "conditions": [
        ["sockclose_werror=='true'", {
          "cflags_cc": ["-Werror"],
          "xcode_settings": {"WARNING_CFLAGS": ["-Werror"]}
        }],
        # The lingerer's event mechanism (native/poller.h): epoll of our own on Linux, libuv's
        # uv_poll_t everywhere else.
        ["OS=='linux'", {"sources": ["native/sys_linux.cc"]}],
        # Node's common.gypi gives -pthread (and -fno-exceptions -fno-rtti, listed above) to Linux,
        # FreeBSD, OpenBSD, AIX and IBM i, not to NetBSD.
        ["OS=='netbsd'", {"cflags": ["-pthread"], "ldflags": ["-pthread"]}],
        # Any other poller name fails the configure (a binary without a poller would fail to load).
        ["sockclose_poller not in ('epoll', 'uv')", {
          "sources": ["<!(node -e \"console.error('sockclose: sockclose_poller is epoll or uv, not <(sockclose_poller)'); process.exit(1)\")"]
        }],
        ["OS=='linux' and sockclose_poller=='epoll'", {"sources": ["native/poller_epoll.cc"]}],
        ["OS!='win' and (OS!='linux' or sockclose_poller=='uv')", {"sources": ["native/poller_uv.cc"]}],
        ["OS=='mac' or OS=='freebsd' or OS=='openbsd' or OS=='netbsd'", {
          "sources": ["native/sys_bsd.cc"]
        }],
        # AIX, and IBM i (PASE), whose gyp flavour is os400 (its Node said process.platform 'aix'
        # before Node 18). Node's own common.gypi already gives both -maix64, -pthread (which
        # defines _THREAD_SAFE: a per-thread errno) and -Wl,-bbigtoc, and node-gyp links against
        # Node's node.exp (-Wl,-bimport). Added here: _ALL_SOURCE, which libuv's own AIX and IBM i
        # builds define too, since AIX's <standards.h> withholds its extensions once a strict
        # standard is asked for (our -std=c++17). Dropped: -fvisibility=hidden, which XCOFF does
        # not use (the linker's export list decides) and GCC on AIX warns about.
        ["OS=='aix' or OS=='os400'", {
          "sources": ["native/sys_aix.cc"],
          "defines": ["_ALL_SOURCE"],
          "cflags!": ["-fvisibility=hidden"]
        }],
        # Any other Unix (gyp's solaris for illumos and Solaris, android, ...): no native/sys_*.cc
        # layer, so a binary would link with the sys::platform functions undefined and end the
        # process at its first call; build nothing (JavaScript-only mode), as CMakeLists.txt refuses.
        ["OS not in ('linux', 'mac', 'freebsd', 'openbsd', 'netbsd', 'aix', 'os400', 'win')", {"type": "none", "sources!": ["native/addon.cc", "native/handed_out.cc", "native/lingerer.cc", "native/lingerer_api.cc", "native/sys_posix.cc", "native/poller_uv.cc"]}],
        # Windows: Node exposes no socket descriptors, so there is nothing to build.
        ["OS=='win'", {"type": "none", "sources!": ["native/addon.cc", "native/handed_out.cc", "native/lingerer.cc", "native/lingerer_api.cc", "native/sys_posix.cc"]}]
      ]
    }
  ]
}
