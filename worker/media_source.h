// The bytes of one input: a memory-mapped file (CLI) or a buffer received
// over the network (worker). Decoders read from memory either way, and the
// MD5/SHA-256 are computed over the same bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace frameprint {

class MediaSource {
 public:
  // Maps the file read-only. Throws MediaError(kIoError) when it cannot.
  static MediaSource open_file(const std::filesystem::path& path);
  static MediaSource from_bytes(std::vector<uint8_t> bytes);
  // Bytes owned elsewhere (e.g. a received message) that outlive the source.
  static MediaSource view(std::span<const uint8_t> bytes);

  MediaSource(MediaSource&& other) noexcept;
  MediaSource& operator=(MediaSource&& other) noexcept;
  MediaSource(const MediaSource&) = delete;
  MediaSource& operator=(const MediaSource&) = delete;
  ~MediaSource();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MediaSource() = default;
  void release() noexcept;

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;      // non-null when data_ is an mmap
  std::vector<uint8_t> owned_;   // used when the bytes came from memory
  bool borrowed_ = false;        // data_ points at bytes someone else owns
};

}  // namespace frameprint
