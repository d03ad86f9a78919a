/* Stand-in (see ../README.md): the build machine's poll() without glibc's POLLRDHUP, which
 * NetBSD, OpenBSD and DragonFly do not define. */
#include_next <poll.h>
#undef POLLRDHUP
