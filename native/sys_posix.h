// Helpers shared by the Unix implementations (sys_posix.cc and the per-platform files).
#ifndef SOCKCLOSE_SYS_POSIX_H_
#define SOCKCLOSE_SYS_POSIX_H_

#include <sys/socket.h>

#include <cerrno>

#include "probe.h"

namespace sockclose {
namespace sys {
namespace posix {

inline int LastError() { return -errno; }

// The errors that mean "this descriptor is not an open socket": they fail a whole probe, whereas
// any other error only leaves one fact unknown.
inline bool IsNotASocket(int result) { return result == -EBADF || result == -ENOTSOCK; }

// getsockopt() of an int-sized option.
int GetIntOption(int fd, int level, int name, int* value);

// The probe's family for an address family (AF_INET, AF_INET6, AF_UNIX, anything else).
inline ProbeFamily FamilyOf(int family) {
  return family == AF_INET    ? kFamilyInet
         : family == AF_INET6 ? kFamilyInet6
         : family == AF_UNIX  ? kFamilyUnix
                              : kFamilyOther;
}

// Family from getsockname(), type from SO_TYPE, listening from SO_ACCEPTCONN where it exists.
// Used where the platform has no SO_DOMAIN.
int DescribeBySockname(int fd, double* probe);

// Unread bytes with FIONREAD (left unknown if it fails).
int UnreadByFionread(int fd, double* probe);

}  // namespace posix
}  // namespace sys
}  // namespace sockclose

#endif  // SOCKCLOSE_SYS_POSIX_H_
