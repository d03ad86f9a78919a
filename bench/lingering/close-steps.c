// The kernel's price of each step a lingering close adds for a silent peer, against the one close a
// plain server makes: bench/lingering/close-steps.mjs runs it and reads its one line of output.
//
//   close-steps <step> <connections> <warm|cold> [watched]
//
// Opens <connections> loopback connections; on each, the server's side writes a short response and
// half-closes (its FIN), as an http server does for `Connection: close`, and the client's side stays
// silent. Once every FIN is acknowledged, times <step> on every server socket, in this thread's CPU
// time (what the kernel does in our context is counted: on loopback that includes the peer's side
// of a packet we send), then the clients' closes the same way. `cold` first evicts the caches (a
// linger's timeout comes seconds after its connection was last touched); `warm` does not.
// `watched`: a thread on another CPU waits in epoll_wait() on every client socket (errors and
// hang-ups only, as a client that has read to EOF still watches), as bench:linger-cost's client
// process does: what our RST makes the kernel do for that waiter (its wake-up) runs in our context.
//
// Steps (native/lingerer.cc does them in this order for a silent peer of an http server, as strace
// of it shows since 2026-12-07, night):
//   plain-close    close(): a plain server's close of its half-closed socket
//   handover       fcntl(F_DUPFD_CLOEXEC), then Node's close of its copy (SO_LINGER is not read:
//                  Node sent our FIN, and the close it could change is the lingerer's)
//   first-look     getsockopt(TCP_INFO) (the look: nothing arrived, the send queue's baseline
//                  from the same call) and epoll_ctl(ADD)
//   timeout-reset  one epoll_wait() per 64 connections (the last look: nothing ready), then
//                  setsockopt(SO_LINGER {1, 0}) and close(): RST
//   timeout-close  the same epoll_wait() share and close(): onTimeout 'close'
// (No epoll_ctl(DEL) before the close: the lingerer's entries are one-shot and the close of the
// socket's last descriptor drops its entry, see native/poller_epoll.cc.)
// Prints: <step> <ns per connection> <clients' close, ns per connection>
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>  // struct tcp_info up to bytes_sent (glibc's <netinet/tcp.h> stops short)
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// TCP_CLOSE, as tcpi_state says it (the kernel's enum is not in the UAPI headers).
enum { kTcpClose = 7 };

static double CpuNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double MonoSeconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void Die(const char* what) {
  perror(what);
  exit(1);
}

struct Watch {
  int epoll;
  int expected;  // events to wait for (one per client socket), or until `stop`
  volatile int stop;
};

// The peer's side: woken by each batch of hang-ups our RSTs cause, until all have come.
static void* WatchClients(void* argument) {
  struct Watch* watch = argument;
  struct epoll_event events[256];
  int seen = 0;
  while (seen < watch->expected && !watch->stop) {
    const int count = epoll_wait(watch->epoll, events, 256, 100);
    if (count > 0) seen += count;
  }
  return NULL;
}

// Larger than the machine's last-level cache: what a step touches afterwards comes from memory.
static void EvictCaches(void) {
  const size_t size = 64u << 20;
  volatile char* block = malloc(size);
  if (block == NULL) Die("malloc");
  for (size_t i = 0; i < size; i += 64) block[i] = (char)i;
  free((void*)block);
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: close-steps plain-close|handover|first-look|timeout-reset|timeout-close <connections> warm|cold [watched]\n");
    return 2;
  }
  const char* step = argv[1];
  const int n = atoi(argv[2]);
  const int cold = strcmp(argv[3], "cold") == 0;
  if (n < 1 || n > 20000) {
    fprintf(stderr, "close-steps: 1 to 20000 connections\n");
    return 2;
  }
  int* clients = calloc((size_t)n, sizeof(int));
  int* servers = calloc((size_t)n, sizeof(int));
  if (clients == NULL || servers == NULL) Die("calloc");

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) Die("socket");
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, (struct sockaddr*)&address, sizeof address) < 0 || listen(listener, 4096) < 0 ||
      getsockname(listener, (struct sockaddr*)&address, &length) < 0) {
    Die("listen");
  }
  static const char kResponse[] = "HTTP/1.1 200 OK\r\n\r\nhello";
  for (int i = 0; i < n; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (clients[i] < 0 || connect(clients[i], (struct sockaddr*)&address, sizeof address) < 0) Die("connect");
    servers[i] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (servers[i] < 0) Die("accept4");
    if (write(servers[i], kResponse, sizeof kResponse - 1) < 0 || shutdown(servers[i], SHUT_WR) < 0) Die("respond");
  }
  // Every response and FIN acknowledged (the send queue counts the FIN on Linux): the state a
  // silent client leaves the server's side in. Bounded: a loopback peer's kernel acknowledges at once.
  const double deadline = MonoSeconds() + 10;
  for (int i = 0; i < n; i++) {
    for (;;) {
      int queued = 0;
      if (ioctl(servers[i], SIOCOUTQ, &queued) < 0) Die("ioctl");
      if (queued == 0) break;
      if (MonoSeconds() > deadline) {
        fprintf(stderr, "close-steps: connection %d still has %d bytes unacknowledged after 10 s\n", i, queued);
        return 1;
      }
      sched_yield();
    }
  }

  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) Die("epoll_create1");
  const int timeout_step = strncmp(step, "timeout-", 8) == 0;
  // A linger reaching its timeout was registered at its first look.
  if (timeout_step) {
    for (int i = 0; i < n; i++) {
      struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data = {.u32 = (unsigned)i}};
      if (epoll_ctl(epoll, EPOLL_CTL_ADD, servers[i], &event) < 0) Die("epoll_ctl");
    }
  }
  // Edge-triggered, no input events: each client socket reports once, at its hang-up (our RST).
  struct Watch watch = {.epoll = -1, .expected = n, .stop = 0};
  pthread_t watcher;
  const int watched = argc == 5 && strcmp(argv[4], "watched") == 0;
  if (watched) {
    watch.epoll = epoll_create1(EPOLL_CLOEXEC);
    if (watch.epoll < 0) Die("epoll_create1");
    for (int i = 0; i < n; i++) {
      struct epoll_event event = {.events = EPOLLET, .data = {.u32 = (unsigned)i}};
      if (epoll_ctl(watch.epoll, EPOLL_CTL_ADD, clients[i], &event) < 0) Die("epoll_ctl (clients)");
    }
    if (pthread_create(&watcher, NULL, WatchClients, &watch) != 0) Die("pthread_create");
    // On another CPU than ours, as a peer process would be (any other this machine has).
    cpu_set_t others;
    CPU_ZERO(&others);
    const int here = sched_getcpu();
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; cpu++) {
      if (cpu != here) CPU_SET(cpu, &others);
    }
    if (CPU_COUNT(&others) > 0) pthread_setaffinity_np(watcher, sizeof others, &others);
  }
  if (cold) EvictCaches();

  struct epoll_event ready[64];
  const double start = CpuNs();
  for (int i = 0; i < n; i++) {
    const int fd = servers[i];
    if (strcmp(step, "plain-close") == 0) {
      close(fd);
    } else if (strcmp(step, "handover") == 0) {
      const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy < 0) Die("handover");
      close(fd);
      servers[i] = copy;
    } else if (strcmp(step, "first-look") == 0) {
      struct tcp_info info;
      // As far as bytes_sent, as the lingerer asks (native/sys_linux.cc, PeerAfterRead()).
      socklen_t size = offsetof(struct tcp_info, tcpi_bytes_sent) + sizeof info.tcpi_bytes_sent;
      if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) < 0) Die("getsockopt TCP_INFO");
      struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data = {.u32 = (unsigned)i}};
      if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) < 0) Die("first-look");
    } else if (timeout_step) {
      if (i % 64 == 0 && epoll_wait(epoll, ready, 64, 0) != 0) Die("epoll_wait: expected nothing ready");
      if (strcmp(step, "timeout-reset") == 0) {
        const struct linger abortive = {1, 0};
        if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive) < 0) Die("setsockopt");
      }
      close(fd);
    } else {
      fprintf(stderr, "close-steps: unknown step '%s'\n", step);
      return 2;
    }
  }
  const double stepNs = (CpuNs() - start) / n;
  if (watched) {
    // Only the hang-ups of a reset come; any other step ends the wait here.
    watch.stop = 1;
    pthread_join(watcher, NULL);
  }

  // The step did what it is named for: a reset reached every client (CLOSE), nothing else reset
  // any (each stays in CLOSE_WAIT: our FIN in, its own not sent).
  int reset = 0;
  for (int i = 0; i < n; i++) {
    struct tcp_info info;
    socklen_t size = sizeof info;
    if (getsockopt(clients[i], IPPROTO_TCP, TCP_INFO, &info, &size) < 0) Die("getsockopt TCP_INFO");
    if (info.tcpi_state == kTcpClose) reset++;
  }
  const int expected = strcmp(step, "timeout-reset") == 0 ? n : 0;
  if (reset != expected) {
    fprintf(stderr, "close-steps: %s reset %d of %d connections (expected %d)\n", step, reset, n, expected);
    return 1;
  }

  const double clientsStart = CpuNs();
  for (int i = 0; i < n; i++) close(clients[i]);
  const double clientsNs = (CpuNs() - clientsStart) / n;
  printf("%s %.0f %.0f\n", step, stepNs, clientsNs);
  return 0;
}
