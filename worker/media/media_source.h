// The bytes of one input: a regular file read on demand with pread (CLI and
// path jobs), or a buffer received over the network (worker). Reading on
// demand, rather than mapping, keeps a file that shrinks or vanishes while
// it is hashed an ordinary read error instead of a SIGBUS.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ipc/common/unique_fd.h"

namespace frameprint {

class MediaSource {
 public:
  // Opens a regular file (anything else — a directory, FIFO, device — is
  // refused without reading). Throws MediaError(kIoError).
  static MediaSource open_file(const std::filesystem::path& path);
  // Opens `relative` inside `root` without ever leaving it: symlinks and ".."
  // that would resolve outside are refused by the kernel while opening
  // (openat2 RESOLVE_BENEATH), so a path swapped after it was checked
  // cannot redirect the read. Throws MediaError(kPathNotAllowed / kIoError).
  static MediaSource open_beneath(const std::filesystem::path& root,
                                  const std::filesystem::path& relative);
  static MediaSource from_bytes(std::vector<uint8_t> bytes);
  // Bytes owned elsewhere (e.g. a received message) that outlive the source.
  static MediaSource view(std::span<const uint8_t> bytes);
  // An open regular file (or memfd), e.g. one passed over a socket.
  static MediaSource adopt(UniqueFd fd);

  // The file this source reads, or -1 for a memory source.
  int fd() const { return fd_.get(); }

  uint64_t size() const { return size_; }

  // Up to out.size() bytes from `offset`; fewer at the end of the data (or
  // when the file shrank meanwhile). Throws MediaError(kIoError).
  size_t read_at(uint64_t offset, std::span<uint8_t> out) const;

  // The first bytes (at most n), for format detection.
  std::span<const uint8_t> head(size_t n);
  // All bytes in memory (read once for files). Throws MediaError(kTooLarge)
  // beyond max_bytes.
  std::span<const uint8_t> contiguous(uint64_t max_bytes);

 private:
  MediaSource() = default;
  static MediaSource from_fd(UniqueFd fd);

  UniqueFd fd_;                      // file sources
  std::span<const uint8_t> memory_;  // memory sources (owned_ or borrowed)
  std::vector<uint8_t> owned_;       // bytes from memory, or a file read into memory
  uint64_t size_ = 0;
};

// Reads `fd` (e.g. standard input) to its end, keeping at most `max_bytes`:
// throws MediaError(kTooLarge) as soon as there is more, without reading
// on, and MediaError(kIoError) when reading fails. With `stop_fd` >= 0 it
// waits on both and throws ReadInterrupted once `stop_fd` is readable (a
// stop signal), so a writer that never ends cannot hold the program.
struct ReadInterrupted : std::runtime_error {
  ReadInterrupted() : std::runtime_error("interrupted while reading") {}
};
std::vector<uint8_t> read_to_end(int fd, uint64_t max_bytes, int stop_fd = -1);

}  // namespace frameprint
