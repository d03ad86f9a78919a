// See handed_out.h. One table per loaded binary, shared by its threads: a mutex guards it (calls
// are rare: once per socket handed out, once per hardReset() of a number). A POSIX mutex rather
// than std::mutex: the C library has it on every Unix, where libc++'s would be one more import.
#include "handed_out.h"

#include <pthread.h>
#include <sys/stat.h>

#include <cerrno>
#include <unordered_map>

namespace sockclose {
namespace handed_out {
namespace {

struct FileId {
  dev_t device;
  ino_t inode;
};

struct Table {
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  std::unordered_map<int, FileId> files;  // at most one entry per descriptor number
};

class Locked {
 public:
  explicit Locked(Table& table) : table_(table) { pthread_mutex_lock(&table_.mutex); }
  ~Locked() { pthread_mutex_unlock(&table_.mutex); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  Table& table_;
};

// Never destroyed: a worker may still call in while the process runs its static destructors.
Table& table() {
  static Table* const instance = new Table();
  return *instance;
}

int Identify(int fd, FileId* id) {
  struct stat status;
  if (fstat(fd, &status) != 0) return -errno;
  *id = FileId{status.st_dev, status.st_ino};
  return 0;
}

}  // namespace

int Record(int fd) {
  FileId id{};
  const int result = Identify(fd, &id);
  if (result < 0) return result;
  Table& t = table();
  Locked lock(t);
  t.files[fd] = id;
  return 0;
}

int StillHeld(int fd) {
  Table& t = table();
  Locked lock(t);
  const auto entry = t.files.find(fd);
  if (entry == t.files.end()) return 0;
  // Under the lock: a Record() of the same number by another thread cannot slip in between.
  FileId now{};
  const int identified = Identify(fd, &now);
  if (identified == 0 ? now.device == entry->second.device && now.inode == entry->second.inode
                      // Only EBADF says the number was closed. IBM i fails fstat() with EINVAL on a
                      // socket its peer reset (libuv 5ec89b8c5), which a Node handle may still hold:
                      // unknown reads as held, and the record stays.
                      : identified != -EBADF) {
    return 1;
  }
  t.files.erase(entry);
  return 0;
}

}  // namespace handed_out
}  // namespace sockclose
