// Regular-file checks and capped reads for every input file llmcost is given.
#include "llmcost/input_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmcost/error.h"

namespace llmcost {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::string non_regular_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return "";
  return kind_of(st.st_mode);
}

int open_regular_file(const std::string& path, uint64_t* size_bytes) {
  const std::string head = path + ": cannot read file (";
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw Error(head + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(head + std::strerror(err) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(head + "it is " + kind_of(st.st_mode) + ", not a regular file)");
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size_bytes) *size_bytes = static_cast<uint64_t>(st.st_size);
  return fd;
}

std::string read_input_file(const std::string& path, const InputLimits& limits) {
  uint64_t size = 0;
  int fd = open_regular_file(path, &size);
  const std::string too_big = path + ": cannot read file (larger than the " + mib(limits.max_bytes) +
                              " limit for a " + limits.what + ")";
  if (size > limits.max_bytes) {
    ::close(fd);
    throw Error(too_big);
  }
  std::string text;
  text.reserve(static_cast<size_t>(size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(path + ": cannot read file (" + std::strerror(err) + ")");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > limits.max_bytes) {  // grew while we read it
      ::close(fd);
      throw Error(too_big);
    }
  }
  ::close(fd);
  return text;
}

}  // namespace llmcost
