/* Stand-in (see ../../README.md): the build machine's ioctl(), plus FIONWRITE, which FreeBSD,
 * NetBSD and DragonFly define in <sys/filio.h> (bytes in the send queue; ioctl(2)). */
#include_next <sys/ioctl.h>
#ifndef FIONWRITE
#define FIONWRITE 0x40046677
#endif
