// The physical limit for sockclose's per-call benchmark: the exact syscalls each public function
// makes (read off native/sys_posix.cc + native/sys_linux.cc, checked with `strace -f -c`), issued in
// a tight C loop on a connected loopback socket, with nothing else around them.
//
// Driven over stdin by bench/core/per-call.mjs so that C and JavaScript measurements interleave:
//   "<operation> <iterations>\n"  ->  "<nanoseconds for the whole loop>\n"
//   "quit\n"                      ->  exits
// Operations are named after the JavaScript function; a ":fd" suffix adds the describe probe a raw
// descriptor target costs (src/target.ts resolveFd: SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN).
//
// Built by the benchmark with `gcc -O2` into a temporary directory; never part of the package.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SIOCOUTQNSD
#define SIOCOUTQNSD 0x894B
#endif

static int fd;
static volatile long sink;  // results land here so nothing looks unused

static void die(const char* what) {
  fprintf(stderr, "syscall-baseline: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int get_int(int level, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  if (getsockopt(fd, level, name, &value, &length) != 0) die("getsockopt");
  return value;
}

// src/target.ts resolveFd -> Probe(kProbeDescribe) -> Describe(): three getsockopt calls.
static void describe(void) {
  sink += get_int(SOL_SOCKET, SO_DOMAIN);
  sink += get_int(SOL_SOCKET, SO_TYPE);
  sink += get_int(SOL_SOCKET, SO_ACCEPTCONN);
}

static void get_linger(void) {
  struct linger value = {0, 0};
  socklen_t length = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &value, &length) != 0) die("getsockopt SO_LINGER");
  sink += value.l_onoff + value.l_linger;
}

static void tcp_info(void) {
  struct tcp_info info;
  memset(&info, 0, sizeof info);
  socklen_t length = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) die("getsockopt TCP_INFO");
  sink += info.tcpi_state;
}

static void poll_once(void) {
  struct pollfd entry = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  if (poll(&entry, 1, 0) < 0) die("poll");
  sink += entry.revents;
}

static void queue_ioctl(unsigned long request) {
  int value = 0;
  if (ioctl(fd, request, &value) != 0) die("ioctl");
  sink += value;
}

static void sockname(void) {
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  if (getsockname(fd, (struct sockaddr*)&address, &length) != 0) die("getsockname");
  sink += length;
}

// setLinger(target, 0): setsockopt(SO_LINGER, {1, 0}).
static void op_set_linger(long i) {
  (void)i;
  struct linger value = {1, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, sizeof value) != 0) die("setsockopt SO_LINGER");
}

// getLinger(target): getsockopt(SO_LINGER).
static void op_get_linger(long i) {
  (void)i;
  get_linger();
}

// peekSocketError(socket) with no error pending: the poll screen (sys::PollRevents) alone.
static void op_peek(long i) {
  (void)i;
  poll_once();
}

// peekSocketError(fd): Probe(kProbePoll | kProbeTcp) = TCP_INFO, poll (after the describe probe).
static void op_peek_probe(long i) {
  (void)i;
  tcp_info();
  poll_once();
}

// inspectSocket(socket), from its second call on: Probe() in sys_posix.cc's order, without the
// describe probe (a Node socket's handle already says it is a stream socket) and without
// getsockname() (the handle keeps the family its first call read).
static void op_inspect_socket(long i) {
  (void)i;
  get_linger();
  tcp_info();
  poll_once();
  queue_ioctl(SIOCINQ);
  queue_ioctl(SIOCOUTQ);
  queue_ioctl(SIOCOUTQNSD);
}

// inspectSocket(fd): every field, after the describe probe (":fd"); getsockname() gives the family.
static void op_inspect(long i) {
  op_inspect_socket(i);
  sockname();
}

// closeWouldReset(socket) with no abortive linger and nothing unread: the screen
// (sys::ResetHints) alone = SO_LINGER, SIOCINQ.
static void op_would_reset(long i) {
  (void)i;
  get_linger();
  queue_ioctl(SIOCINQ);
}

// closeWouldReset(socket) with an abortive linger: the screen finds a hint and reads the state.
static void op_would_reset_abortive(long i) {
  (void)i;
  get_linger();
  queue_ioctl(SIOCINQ);
  tcp_info();
}

// closeWouldReset(fd): Probe(kProbeUnread | kProbeLinger | kProbeTcp) = SO_LINGER, TCP_INFO, SIOCINQ.
static void op_would_reset_probe(long i) {
  (void)i;
  get_linger();
  tcp_info();
  queue_ioctl(SIOCINQ);
}

// takeSocketError(target) with no error pending: getsockopt(SO_ERROR).
static void op_take_error(long i) {
  (void)i;
  sink += get_int(SOL_SOCKET, SO_ERROR);
}

// socket.setNoDelay(i % 2 === 0): one setsockopt(TCP_NODELAY) per call when the value changes.
static void op_nodelay(long i) {
  int value = (i % 2) == 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0) die("setsockopt TCP_NODELAY");
}

// The loop and its indirect call with nothing in them: what per-call.mjs subtracts from every C
// figure, as it subtracts its own empty JavaScript call from every JavaScript one.
static void op_empty(long i) { (void)i; }

struct operation {
  const char* name;
  void (*run)(long);
};

static const struct operation operations[] = {
    {"setLinger", op_set_linger},     {"getLinger", op_get_linger}, {"peekSocketError", op_peek},
    {"inspectSocket", op_inspect_socket}, {"inspectProbe", op_inspect}, {"closeWouldReset", op_would_reset},
    {"takeSocketError", op_take_error},
    {"setNoDelay", op_nodelay},       {"peekProbe", op_peek_probe}, {"closeWouldResetProbe", op_would_reset_probe},
    {"closeWouldResetAbortive", op_would_reset_abortive}, {"empty", op_empty},
};

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void connect_loopback(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0) die("bind");
  if (listen(listener, 1) != 0) die("listen");
  socklen_t length = sizeof address;
  if (getsockname(listener, (struct sockaddr*)&address, &length) != 0) die("getsockname");
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr*)&address, sizeof address) != 0) die("connect");
  if (accept(listener, NULL, NULL) < 0) die("accept");  // kept open: the connection stays ESTABLISHED
}

int main(void) {
  connect_loopback();
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    char name[64];
    long iterations = 0;
    if (strncmp(line, "quit", 4) == 0) break;
    if (sscanf(line, "%63s %ld", name, &iterations) != 2 || iterations <= 0) {
      fprintf(stderr, "syscall-baseline: bad command: %s", line);
      return 2;
    }
    char* suffix = strchr(name, ':');
    int with_describe = suffix != NULL && strcmp(suffix, ":fd") == 0;
    if (suffix) *suffix = '\0';
    const struct operation* operation = NULL;
    for (size_t k = 0; k < sizeof operations / sizeof operations[0]; k++) {
      if (strcmp(operations[k].name, name) == 0) operation = &operations[k];
    }
    if (!operation) {
      fprintf(stderr, "syscall-baseline: unknown operation %s\n", name);
      return 2;
    }
    long long start = now_ns();
    if (with_describe) {
      for (long i = 0; i < iterations; i++) {
        describe();
        operation->run(i);
      }
    } else {
      for (long i = 0; i < iterations; i++) operation->run(i);
    }
    long long elapsed = now_ns() - start;
    printf("%lld\n", elapsed);
    fflush(stdout);
  }
  return 0;
}
