// Fuzz target: the still-image header probe (worker/media/probe.h). Sizes
// stay in range, and the format read from the first kImageMagicBytes is the
// format of the whole file: the pipeline picks the image path from the head
// and then probes the whole file, relying on both agreeing.
#include <algorithm>

#include "tests/fuzz/fuzz_targets.h"
#include "worker/media/media_hasher.h"
#include "worker/media/probe.h"

namespace frameprint::fuzz {

void probe_image(Input input) {
  const auto whole = frameprint::probe_image(input);
  const auto head = frameprint::probe_image(input.first(std::min(input.size(), kImageMagicBytes)));
  FUZZ_CHECK(whole.has_value() == head.has_value());
  if (!whole) return;
  FUZZ_CHECK(whole->format == head->format);
  FUZZ_CHECK(whole->width >= 0 && whole->width <= (1 << 30));
  FUZZ_CHECK(whole->height >= 0 && whole->height <= (1 << 30));
  FUZZ_CHECK(!image_format_name(whole->format).empty());
}

}  // namespace frameprint::fuzz

FRAMEPRINT_FUZZ_ENTRY(frameprint::fuzz::probe_image)
