// The descriptor numbers sockclose handed to JavaScript (socketFd(), inspectSocket()), for the
// whole process: every thread (main and workers) records into, and asks, the same table.
//
// hardReset(fd) must refuse a number that a live Node socket still holds, whichever thread's
// socket it is: closing it would let the kernel give the number to the next socket while Node's
// handle, in that thread, still acts on it. A thread can see its own handles only, so each number
// is recorded with the open file it named then (device and inode: unique to a socket while it
// exists); the number is still that socket's as long as fstat() names the same file.
#ifndef SOCKCLOSE_HANDED_OUT_H_
#define SOCKCLOSE_HANDED_OUT_H_

namespace sockclose {
namespace handed_out {

// Records that `fd` was handed out, and which open file it names: 0, or -errno (fstat()'s).
int Record(int fd);

// 1 if `fd` was recorded and still names the same open file, or fstat() cannot tell (any error but
// EBADF); 0 if not (a record that no longer holds is dropped: the number was closed, and may have
// been reused).
int StillHeld(int fd);

}  // namespace handed_out
}  // namespace sockclose

#endif  // SOCKCLOSE_HANDED_OUT_H_
