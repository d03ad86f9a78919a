/*
 * An LD_PRELOAD library that gives a Linux process the one AIX / IBM i socket behaviour behind
 * nodejs/node 40724: once the peer resets a TCP connection, getsockname() on its descriptor fails
 * with EINVAL (seed 000, libuv issue 3481). Built by the tests (test/aix/emulation.ts) with gcc
 * into a temporary directory and preloaded only into the processes under test (a cluster primary
 * and its workers), never into the test runner.
 *
 * How it decides, without changing the socket: a connection "is in the error state" when it is a
 * TCP socket (SO_TYPE SOCK_STREAM, SO_DOMAIN AF_INET / AF_INET6) whose TCP_INFO state is CLOSE
 * and on which poll() reports POLLERR. All three are read-only on Linux. SO_ERROR is never read:
 * on Linux it clears the pending error (sock_error() exchanges sk_err with 0), after which the
 * connection would read as a clean EOF and the process under test would behave differently.
 * A fatal TCP error always leaves CLOSE (tcp_done), so the state test keeps error-queue POLLERRs
 * (timestamps, zero-copy completions) out.
 *
 * Where this differs from AIX, and why it does not matter for what the tests prove:
 *   - On Linux the pending error is consumed when recv() reports it; from then on getsockname()
 *     succeeds again, whereas AIX stays in the error state. The cluster hang happens before
 *     anything reads the connection: the primary accepts it and passes it on unread.
 *   - Any fatal error counts (a refused connect, a retransmission timeout), not only a reset.
 *     Whether AIX treats those alike is not documented; the tests only produce resets.
 *   - IBM i additionally fails fstat() with EINVAL in that state (libuv 5ec89b8c5). A libuv
 *     without the fix answers UV_UNKNOWN_HANDLE either way, so emulating getsockname() is enough
 *     there. With SOCKCLOSE_EMULATE_IBMI_FSTAT=1 in the environment fstat() fails so too, for
 *     what reads it directly (native/handed_out.cc).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

typedef int (*getsockname_fn)(int, __SOCKADDR_ARG, socklen_t *__restrict);

typedef int (*fstat_fn)(int, struct stat *);
typedef int (*fstat64_fn)(int, struct stat64 *);

static getsockname_fn real_getsockname;
static fstat_fn real_fstat;
static fstat64_fn real_fstat64;
static int emulate_ibmi_fstat;

/* Resolved once, when the library is loaded and before any thread of the process can call it. */
__attribute__((constructor)) static void resolve_real_getsockname(void) {
  real_getsockname = (getsockname_fn)dlsym(RTLD_NEXT, "getsockname");
  real_fstat = (fstat_fn)dlsym(RTLD_NEXT, "fstat");
  real_fstat64 = (fstat64_fn)dlsym(RTLD_NEXT, "fstat64");
  const char *flag = getenv("SOCKCLOSE_EMULATE_IBMI_FSTAT");
  emulate_ibmi_fstat = flag != NULL && strcmp(flag, "1") == 0;
}

static int int_option(int fd, int level, int name, int *value) {
  socklen_t length = sizeof *value;
  return getsockopt(fd, level, name, value, &length);
}

/* Whether fd is a TCP connection that died with an error still pending. Never changes fd. */
static int in_aix_error_state(int fd) {
  int type = 0;
  int domain = 0;
  if (int_option(fd, SOL_SOCKET, SO_TYPE, &type) != 0 || type != SOCK_STREAM) return 0;
  if (int_option(fd, SOL_SOCKET, SO_DOMAIN, &domain) != 0) return 0;
  if (domain != AF_INET && domain != AF_INET6) return 0;

  struct tcp_info info;
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
  if (length < offsetof(struct tcp_info, tcpi_state) + sizeof info.tcpi_state) return 0;
  if (info.tcpi_state != TCP_CLOSE) return 0;

  /* events 0: POLLERR and POLLHUP are reported whatever is asked for. */
  struct pollfd entry = {.fd = fd, .events = 0, .revents = 0};
  int ready;
  do {
    ready = poll(&entry, 1, 0);
  } while (ready < 0 && errno == EINTR);
  return ready == 1 && (entry.revents & POLLERR) != 0;
}

int getsockname(int fd, __SOCKADDR_ARG address, socklen_t *__restrict length) {
  if (real_getsockname == NULL) {
    errno = ENOSYS;
    return -1;
  }
  const int saved = errno;
  if (in_aix_error_state(fd)) {
    errno = EINVAL;
    return -1;
  }
  errno = saved; /* the probes above may have set it; a successful call must not show that */
  return real_getsockname(fd, address, length);
}

/* IBM i only (SOCKCLOSE_EMULATE_IBMI_FSTAT=1): fstat() fails with EINVAL in the error state. */
static int ibmi_fstat_fails(int fd) {
  if (!emulate_ibmi_fstat) return 0;
  const int saved = errno;
  if (in_aix_error_state(fd)) {
    errno = EINVAL;
    return 1;
  }
  errno = saved;
  return 0;
}

int fstat(int fd, struct stat *status) {
  if (real_fstat == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return ibmi_fstat_fails(fd) ? -1 : real_fstat(fd, status);
}

int fstat64(int fd, struct stat64 *status) {
  if (real_fstat64 == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return ibmi_fstat_fails(fd) ? -1 : real_fstat64(fd, status);
}
