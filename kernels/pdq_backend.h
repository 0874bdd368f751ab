// A PDQ backend hashes batches of luma planes. The CPU backend is the
// reference the CUDA backend is tested against. Batching belongs to the
// backend: the CPU one hashes each request at once.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "kernels/luma_plane.h"
#include "kernels/pdq_core.h"

namespace frameprint::pdq {

enum class Downsampler : uint8_t {
  // The reference's running-sum box filters over the whole plane: bit-exact
  // with Meta's reference for the same float luma. Needs a kF32 host plane;
  // meant for still images (at most 512x512). CPU backend only.
  kReference,
  // One weighted pass computing only the 64x64 outputs (video frames, GPU).
  kSeparable,
};

struct HashRequest {
  LumaPlane plane;
  Orientation orientation;  // how the stored plane is displayed
  Downsampler downsampler = Downsampler::kSeparable;
  bool want_dihedral = false;
};

// How many decoded sources (e.g. NVDEC surfaces) a stager keeps alive at
// once while its copies are in flight; the decoder's pool is sized by it.
inline constexpr int kMaxHeldSources = 4;

// Takes frames into a backend's own memory as they are decoded, for a
// batch that is hashed later, so that the decoder's buffers are free again
// at once (a decoder has few: NVDEC at most 32 surfaces).
class FrameStager {
 public:
  virtual ~FrameStager() = default;
  // Copies `plane` into memory this stager owns and returns the copy's
  // plane, valid until reset(). `hold` keeps the source alive only until
  // the copy has completed (at most kMaxHeldSources at once).
  virtual LumaPlane stage(const LumaPlane& plane, std::shared_ptr<void> hold) = 0;
  // The batch has been hashed: staged planes may be overwritten.
  virtual void reset() = 0;
};

// Copies host planes into host memory; refuses device planes.
std::unique_ptr<FrameStager> make_host_stager();

class PdqBackend {
 public:
  virtual ~PdqBackend() = default;
  // out.size() must equal requests.size(). Throws std::invalid_argument for a
  // request the backend cannot take.
  virtual void hash(std::span<const HashRequest> requests, std::span<PdqResult> out) = 0;
  virtual std::string_view name() const = 0;
  // How many requests a call should carry to use the backend well.
  virtual size_t preferred_batch() const { return 1; }
  // The CUDA device whose memory planes may be in (MemoryLocation::kDevice),
  // or -1 for a backend that reads host memory only. The pipeline decodes
  // videos on this device's NVDEC, so the backend alone decides where
  // frames are decoded.
  virtual int cuda_device() const { return -1; }

  // A stager whose planes this backend's hash() takes; the default copies
  // host planes. The CUDA backend copies device planes device-to-device on
  // its own stream.
  virtual std::unique_ptr<FrameStager> make_stager() { return make_host_stager(); }

  PdqResult hash_one(const HashRequest& request) {
    PdqResult r;
    hash(std::span(&request, 1), std::span(&r, 1));
    return r;
  }
};

// Not thread-safe: it keeps work buffers; use one per thread.
std::unique_ptr<PdqBackend> make_cpu_backend();

}  // namespace frameprint::pdq
