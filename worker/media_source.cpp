#include "media_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "media_error.h"

namespace frameprint {

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

MediaSource MediaSource::open_file(const std::filesystem::path& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0)
    throw MediaError(ErrorCode::kIoError, "cannot open file: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw MediaError(ErrorCode::kIoError, "cannot stat file: " + std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw MediaError(ErrorCode::kIoError, "is a directory");
  MediaSource s;
  if (S_ISREG(st.st_mode)) {
    if (st.st_size == 0) return s;
    void* m = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (m != MAP_FAILED) {
      s.mapping_ = m;
      s.data_ = static_cast<const uint8_t*>(m);
      s.size_ = static_cast<size_t>(st.st_size);
      return s;
    }
  }
  // Not mappable (a pipe, a special file system): read it.
  std::vector<uint8_t> buf;
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw MediaError(ErrorCode::kIoError, "read failed: " + std::string(std::strerror(errno)));
    }
    if (n == 0) break;
    buf.insert(buf.end(), chunk, chunk + n);
  }
  return from_bytes(std::move(buf));
}

MediaSource MediaSource::from_bytes(std::vector<uint8_t> bytes) {
  MediaSource s;
  s.owned_ = std::move(bytes);
  s.data_ = s.owned_.data();
  s.size_ = s.owned_.size();
  return s;
}

MediaSource MediaSource::view(std::span<const uint8_t> bytes) {
  MediaSource s;
  s.data_ = bytes.data();
  s.size_ = bytes.size();
  s.borrowed_ = true;
  return s;
}

MediaSource::MediaSource(MediaSource&& o) noexcept { *this = std::move(o); }

MediaSource& MediaSource::operator=(MediaSource&& o) noexcept {
  if (this != &o) {
    release();
    mapping_ = std::exchange(o.mapping_, nullptr);
    owned_ = std::move(o.owned_);
    borrowed_ = std::exchange(o.borrowed_, false);
    size_ = std::exchange(o.size_, 0);
    const uint8_t* other = std::exchange(o.data_, nullptr);
    data_ = mapping_ ? static_cast<const uint8_t*>(mapping_) : (borrowed_ ? other : owned_.data());
  }
  return *this;
}

MediaSource::~MediaSource() { release(); }

void MediaSource::release() noexcept {
  if (mapping_) ::munmap(mapping_, size_);
  mapping_ = nullptr;
  owned_.clear();
  borrowed_ = false;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace frameprint
