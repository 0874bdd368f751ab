#include "worker/media/media_source.h"

#include <poll.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "worker/media/media_error.h"

namespace frameprint {

MediaSource MediaSource::open_file(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below anyway.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd)
    throw MediaError(ErrorCode::kIoError, "cannot open file: " + std::string(std::strerror(errno)));
  return from_fd(std::move(fd));
}

MediaSource MediaSource::open_beneath(const std::filesystem::path& root,
                                      const std::filesystem::path& relative) {
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir)
    throw MediaError(ErrorCode::kIoError,
                     "cannot open the allowed root: " + std::string(std::strerror(errno)));
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dir.get(), relative.c_str(), &how, sizeof how);
  if (fd >= 0) return from_fd(UniqueFd(static_cast<int>(fd)));
  if (errno == EXDEV)
    throw MediaError(ErrorCode::kPathNotAllowed, "path is outside every allowed root");
  if (errno != ENOSYS && errno != EPERM)
    throw MediaError(ErrorCode::kIoError, "cannot open file: " + std::string(std::strerror(errno)));
  // Kernels without openat2: walk the path one component at a time and
  // refuse every symlink (stricter, but never outside the root).
  UniqueFd at = std::move(dir);
  auto it = relative.begin();
  for (; it != relative.end(); ++it) {
    const std::string part = it->string();
    if (part.empty() || part == ".") continue;
    if (part == "..")
      throw MediaError(ErrorCode::kPathNotAllowed, "path is outside every allowed root");
    const bool last = std::next(it) == relative.end();
    const int flags = last ? (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
                           : (O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    UniqueFd next(::openat(at.get(), part.c_str(), flags));
    if (!next) {
      if (errno == ELOOP || errno == ENOTDIR)
        throw MediaError(ErrorCode::kPathNotAllowed,
                         "symbolic links are not followed on this kernel");
      throw MediaError(ErrorCode::kIoError,
                       "cannot open file: " + std::string(std::strerror(errno)));
    }
    at = std::move(next);
  }
  return from_fd(std::move(at));
}

MediaSource MediaSource::from_fd(UniqueFd fd) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw MediaError(ErrorCode::kIoError, "cannot stat file: " + std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw MediaError(ErrorCode::kIoError, "is a directory");
  if (!S_ISREG(st.st_mode)) throw MediaError(ErrorCode::kIoError, "not a regular file");
  MediaSource s;
  s.fd_ = std::move(fd);
  s.size_ = static_cast<uint64_t>(st.st_size);
  return s;
}

MediaSource MediaSource::from_bytes(std::vector<uint8_t> bytes) {
  MediaSource s;
  s.owned_ = std::move(bytes);
  s.memory_ = s.owned_;
  s.size_ = s.owned_.size();
  return s;
}

MediaSource MediaSource::adopt(UniqueFd fd) { return from_fd(std::move(fd)); }

MediaSource MediaSource::view(std::span<const uint8_t> bytes) {
  MediaSource s;
  s.memory_ = bytes;
  s.size_ = bytes.size();
  return s;
}

size_t MediaSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (!fd_) {
    if (offset >= memory_.size()) return 0;
    const size_t n = std::min<uint64_t>(out.size(), memory_.size() - offset);
    std::memcpy(out.data(), memory_.data() + offset, n);
    return n;
  }
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw MediaError(ErrorCode::kIoError, "read failed: " + std::string(std::strerror(errno)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

std::span<const uint8_t> MediaSource::head(size_t n) {
  if (!fd_) return memory_.first(std::min<size_t>(n, memory_.size()));
  if (owned_.empty() || owned_.size() < std::min<uint64_t>(n, size_)) {
    owned_.resize(std::min<uint64_t>(n, size_));
    owned_.resize(read_at(0, owned_));
  }
  return std::span<const uint8_t>(owned_).first(std::min(n, owned_.size()));
}

std::span<const uint8_t> MediaSource::contiguous(uint64_t max_bytes) {
  if (size_ > max_bytes)
    throw MediaError(ErrorCode::kTooLarge,
                     "the file has " + std::to_string(size_) + " bytes, more than the limit of " +
                         std::to_string(max_bytes) + " for this kind of file");
  if (!fd_) return memory_;
  if (owned_.size() != size_) {
    owned_.resize(size_);
    owned_.resize(read_at(0, owned_));  // a file that shrank meanwhile gives fewer bytes
  }
  memory_ = owned_;
  return memory_;
}

std::vector<uint8_t> read_to_end(int fd, uint64_t max_bytes, int stop_fd) {
  std::vector<uint8_t> out;
  size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (used > max_bytes)
        throw MediaError(
            ErrorCode::kTooLarge,
            "the input has more than " + std::to_string(max_bytes) + " bytes (--max-bytes)");
      // Grow geometrically, never past one byte over the limit (which proves there is more).
      const uint64_t want =
          std::min<uint64_t>(std::max<size_t>(out.size() * 2, size_t{1} << 16), max_bytes + 1);
      out.resize(static_cast<size_t>(want));
    }
    if (stop_fd >= 0) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        throw MediaError(ErrorCode::kIoError, "poll failed: " + std::string(std::strerror(errno)));
      }
      if (fds[1].revents & POLLIN) throw ReadInterrupted();
    }
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw MediaError(ErrorCode::kIoError, "read failed: " + std::string(std::strerror(errno)));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > max_bytes)
    throw MediaError(ErrorCode::kTooLarge, "the input has more than " + std::to_string(max_bytes) +
                                               " bytes (--max-bytes)");
  out.resize(used);
  return out;
}

}  // namespace frameprint
