// The result of hashing one input: what `frameprint hash` prints as one JSON
// line and what a worker sends back. Errors are results too.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/hash256.h"
#include "kernels/pdq_math.h"
#include "kernels/vpdq_align.h"
#include "worker/media/media_error.h"

namespace frameprint {

struct FrameHash {
  int64_t index = 0;  // among decoded frames
  double ts = 0;      // seconds from stream start
  int quality = 0;
  Hash256 pdq;
  std::optional<std::array<Hash256, pdq::kDihedralCount>> dihedral;  // with --dihedral
  // Hashed for matching only (HashOptions::for_matching), never printed:
  // dihedral hashes and the content without borders, each tagged.
  std::vector<pdq::TaggedHash> variants;
};

// A variant's name: "" for the plain hash, a dihedral name ("flipx"),
// "unpadded", or "unpadded+flipx".
std::string variant_name(uint8_t tag);
// The tag of a name variant_name() gives, or nullopt.
std::optional<uint8_t> variant_tag(std::string_view name);

struct MediaWarning {
  std::string code;
  std::string message;
};

enum class MediaKind { kImage, kVideo };

struct MediaResult {
  std::string path;                 // as given by the caller
  std::optional<MediaError> error;  // set: status "error"

  MediaKind kind = MediaKind::kImage;
  std::string md5;
  std::string sha1;
  std::string sha256;
  int width = 0;  // of the pictures as hashed (after EXIF orientation / autorotation)
  int height = 0;
  bool exact = false;  // images: hashed the reference's way (--exact)
  // videos only
  int rotation = 0;  // clockwise degrees the file asks viewers to rotate by
  std::string codec;
  std::string decoder = "cpu";  // "nvdec" when the GPU decoded the frames
  double duration_s = 0;
  double fps = 0;

  std::vector<FrameHash> frames;
  std::vector<MediaWarning> warnings;  // e.g. corrupt packets skipped
  // With an error: the frames before a limit stopped decoding are kept.
  bool partial = false;
  // HashOptions::for_matching: frames hashed between the sampled ones, for
  // matching only (a sparse list needs a denser query). Not printed; they
  // and every frame's variants travel in the internal "match_frames" field
  // that the matcher reads and removes.
  bool for_matching = false;
  std::vector<FrameHash> match_frames;

  bool ok() const { return !error.has_value(); }
  // Whether there are hashes to match (ok, or partial).
  bool has_hashes() const { return !frames.empty() && (ok() || partial); }
};

// One JSON object in the documented schema (docs/output.md), keys in a
// stable order.
nlohmann::ordered_json to_json(const MediaResult& r);

// The reference vPDQ text format: one `index,quality,pdq,timestamp` line per
// hashed frame, timestamp with 3 decimals.
std::string to_vpdq_text(const MediaResult& r);

// python-threatexchange's vpdq signal (and Hasher-Matcher-Actioner's): a
// JSON list of "hex,quality,timestamp" strings, timestamp with 3
// decimals, spaced as Python's json.dumps writes it.
std::string to_vpdq_signal(const std::vector<FrameHash>& frames);

}  // namespace frameprint
