// The hashing pipeline for one input: source bytes -> digests -> probe ->
// image or video decoder -> sampler -> PDQ backend -> result. It never
// throws for bad input: every failure becomes an error result.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "kernels/pdq_backend.h"
#include "worker/media/limits.h"
#include "worker/media/media_result.h"
#include "worker/media/media_source.h"

namespace frameprint {

struct HashOptions {
  double seconds_per_hash = 1.0;  // 0 = every frame
  bool dihedral = false;          // also the 7 other dihedral hashes
  bool exif_orientation = true;   // images: hash what a viewer displays
  bool autorotate = true;         // videos: apply the display matrix
  // Stills the reference's way: colour decode, float luma, the reference's
  // box filter (bit-exact with Meta's pdq-photo-hasher on the same pixels).
  // Off: JPEG luma without colour conversion and the separable downsampler,
  // within the reference's tolerance (benchmarks/RESULTS.md).
  bool exact_stills = false;
  // Hashes for matching against lists, never printed (MediaResult::
  // match_frames and FrameHash::variants): each frame's dihedral hashes
  // (stills: all eight; video frames: as shown and mirrored), the content
  // without uniform borders, and video frames every
  // match_seconds_per_hash (0: every frame) between the sampled ones, and
  // besides those the frames the decoder decodes anyway (the reference
  // frames that skipped frames depend on), up to match_decoded_fps a
  // second (0: none): hashing a decoded frame costs a fraction of decoding
  // a skipped one.
  bool for_matching = false;
  double match_seconds_per_hash = 0.5;
  double match_decoded_fps = 10;
  VideoLimits limits;       // max_pixels applies to images too
  int decoder_threads = 0;  // video decoder threads; 0 lets FFmpeg choose
};

// Enough leading bytes to recognise every still-image format.
inline constexpr size_t kImageMagicBytes = 64;
// Still images are decoded from memory; larger files are refused.
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{1} << 30;

MediaResult hash_media(MediaSource& source, const HashOptions& options, pdq::PdqBackend& backend);

// Opens the file (read with pread, never mapped) and hashes it; result.path is set to
// `display_path`.
MediaResult hash_file(const std::filesystem::path& file, const std::string& display_path,
                      const HashOptions& options, pdq::PdqBackend& backend);

// Hashes bytes in memory, read in place (they must outlive the call), as
// hash_file() hashes a file: never throws; result.path is `display_path`.
MediaResult hash_bytes(std::span<const uint8_t> bytes, const std::string& display_path,
                       const HashOptions& options, pdq::PdqBackend& backend);

}  // namespace frameprint
