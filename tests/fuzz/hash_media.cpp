// Fuzz target: the whole decode path (worker/media/media_hasher.h) on bytes
// in memory, as a worker receives them: format detection, the still-image
// decoder (OpenCV) or the container and video decoder (FFmpeg), luma,
// sampling and the CPU PDQ backend, with tight limits so that one input
// stays fast. hash_media never throws; a result is an error with no
// frames, or frames within the limits (with an error only when partial);
// either is written as JSON.
#include "ipc/common/json_text.h"
#include "kernels/pdq_backend.h"
#include "tests/fuzz/fuzz_targets.h"
#include "worker/media/media_hasher.h"

namespace frameprint::fuzz {

void hash_media(Input input) {
  HashOptions o;
  // Every frame, or sampled (the decoder then skips frames the sampler
  // cannot take): chosen by the input's length, so one input always runs
  // the same way.
  o.seconds_per_hash = input.size() % 2 ? 0.05 : 0;
  o.dihedral = true;
  o.limits.max_pixels = 512 * 512;
  o.limits.max_frames = 8;
  o.limits.max_seconds = 3;  // well below libFuzzer's -timeout
  o.decoder_threads = 1;
  const auto backend = pdq::make_cpu_backend();
  MediaSource source = MediaSource::view(input);
  const MediaResult r = frameprint::hash_media(source, o, *backend);

  // An error keeps the frames hashed before it only as a partial result
  // (a limit or a decoder failure part-way through a video).
  FUZZ_CHECK(r.partial == (r.error && !r.frames.empty()));
  if (r.error && !r.partial) {
    FUZZ_CHECK(r.frames.empty());
  } else {
    FUZZ_CHECK(!r.frames.empty());
    FUZZ_CHECK(static_cast<int64_t>(r.frames.size()) <= o.limits.max_frames);
    FUZZ_CHECK(r.width > 0 && r.height > 0);
    FUZZ_CHECK(int64_t{r.width} * r.height <= o.limits.max_pixels);
    FUZZ_CHECK(r.md5.size() == 32 && r.sha1.size() == 40 && r.sha256.size() == 64);
    for (const FrameHash& f : r.frames) {
      FUZZ_CHECK(f.quality >= 0 && f.quality <= 100);
      FUZZ_CHECK(f.dihedral.has_value());
    }
  }
  (void)json_text(to_json(r));
  (void)to_vpdq_text(r);
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::hash_media)
