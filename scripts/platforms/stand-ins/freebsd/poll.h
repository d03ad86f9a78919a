/* Stand-in for FreeBSD's <poll.h> (see ../../README.md): the build machine's poll(), with
 * FreeBSD's value of POLLRDHUP (poll(2): since FreeBSD 13.1) in place of glibc's. */
#include_next <poll.h>
#undef POLLRDHUP
#define POLLRDHUP 0x4000
