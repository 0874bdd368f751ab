#include "worker/media/media_hasher.h"

#include "worker/media/gif_scan.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "kernels/borders.h"
#include "worker/media/digest.h"
#include "worker/media/frame_sampler.h"
#include "worker/media/image_decoder.h"
#include "worker/media/probe.h"
#include "worker/media/video_decoder.h"

namespace frameprint {

namespace {

FrameHash frame_hash(int64_t index, double ts, const pdq::PdqResult& r, bool dihedral) {
  FrameHash f;
  f.index = index;
  f.ts = ts;
  f.quality = r.quality;
  f.pdq = r.hash;
  if (dihedral) f.dihedral = r.dihedral;
  return f;
}

// The dihedral transforms a frame is matched under: every one for stills
// (rotated and mirrored re-posts), as shown and mirrored for video frames
// (left-right mirrors, PDQ's flipy; rotating a video is rare, and each variant is one more index
// search per frame).
constexpr pdq::Dihedral kStillVariants[] = {pdq::Dihedral::kRotate90,  pdq::Dihedral::kRotate180,
                                            pdq::Dihedral::kRotate270, pdq::Dihedral::kFlipX,
                                            pdq::Dihedral::kFlipY,     pdq::Dihedral::kFlipPlus1,
                                            pdq::Dihedral::kFlipMinus1};
constexpr pdq::Dihedral kVideoVariants[] = {pdq::Dihedral::kFlipY};

// Adds a hash result's variants for matching: its dihedral hashes named in
// `which`, tagged with `base` (0, or kUnpaddedBit for the content without
// borders); with `base` set the plain hash too.
void add_variants(FrameHash& f, const pdq::PdqResult& r, uint8_t base,
                  std::span<const pdq::Dihedral> which) {
  if (base != 0) f.variants.push_back({r.hash, base, r.quality});
  if (!r.has_dihedral) return;
  for (const pdq::Dihedral d : which) {
    const int k = static_cast<int>(d);
    f.variants.push_back(
        {r.dihedral[static_cast<size_t>(k)], static_cast<uint8_t>(base | k), r.quality});
  }
}

void hash_image(std::span<const uint8_t> bytes, const ImageProbe& probe, const HashOptions& o,
                pdq::PdqBackend& backend, MediaResult& out) {
  const DecodedImage img = decode_image(
      bytes, probe,
      {o.exact_stills, o.exif_orientation, o.limits.max_pixels, 0, o.limits.max_seconds});
  out.kind = MediaKind::kImage;
  if (img.truncated)
    out.warnings.push_back({"truncated",
                            "the file has no end marker (cut short); hashed the picture as it "
                            "decodes, as a viewer would show it"});
  out.width = img.width;
  out.height = img.height;
  out.exact = o.exact_stills;
  // Exact: the reference's box filters, bit for bit; they run on the CPU
  // whatever the device (the CUDA backend has the separable map only).
  // Otherwise the same linear map computed only at the 64x64 outputs
  // (separable_downsample.h), on the backend's device.
  std::unique_ptr<pdq::PdqBackend> cpu;
  pdq::PdqBackend* hasher = &backend;
  if (o.exact_stills && backend.cuda_device() >= 0) {
    cpu = pdq::make_cpu_backend();
    hasher = cpu.get();
  }
  const auto downsampler =
      o.exact_stills ? pdq::Downsampler::kReference : pdq::Downsampler::kSeparable;
  const bool dihedral = o.dihedral || o.for_matching;
  const pdq::PdqResult r = hasher->hash_one({img.plane(), {}, downsampler, dihedral});
  out.frames.push_back(frame_hash(0, 0.0, r, o.dihedral));
  if (!o.for_matching) return;
  out.for_matching = true;
  FrameHash& f = out.frames.back();
  add_variants(f, r, 0, kStillVariants);
  // Padding, a white frame, a screenshot's surround: the content alone.
  if (const auto content = pdq::find_content(img.plane())) {
    const pdq::PdqResult c = hasher->hash_one(
        {pdq::crop(img.plane(), *content), {}, pdq::Downsampler::kSeparable, true});
    add_variants(f, c, pdq::kUnpaddedBit, kStillVariants);
  }
}

// Thrown when the timeline needed repair after frames were skipped on the
// strength of the raw timestamps: decode again, every frame.
struct DecodeAgainWithoutSkipping {};

void hash_video(const MediaSource& src, const HashOptions& o, pdq::PdqBackend& backend,
                MediaResult& out, bool allow_skipping) {
  // The backend decides where frames are decoded: NVDEC on its device, or
  // the CPU for a host backend.
  DecoderSettings settings;
  settings.threads = o.decoder_threads;
  settings.nvdec_device = backend.cuda_device();
  // Matching samples more densely than what is printed (a list made at one
  // hash a second needs query frames close to each of its frames): every
  // match_step (0: every frame), a step that divides --seconds-per-hash so
  // that every frame the printed sampler takes is still decoded, and the
  // frames decoded anyway, at most one every decoded_gap seconds.
  const bool sparse = o.for_matching && o.seconds_per_hash > 0;
  const bool denser = sparse && o.match_seconds_per_hash < o.seconds_per_hash;
  double match_step = o.seconds_per_hash;
  if (denser)
    match_step = o.match_seconds_per_hash > 0
                     ? o.seconds_per_hash / std::ceil(o.seconds_per_hash / o.match_seconds_per_hash)
                     : 0.0;
  const double decoded_gap = sparse && o.match_decoded_fps > 0 ? 1.0 / o.match_decoded_fps : 0.0;
  // Frames the samplers cannot take are not decoded (unless the timeline is
  // being repaired).
  settings.seconds_per_hash = allow_skipping ? match_step : 0.0;
  // Frames are staged out of the decoder's surfaces as they come: the
  // decoder needs only the sources still being copied, not a batch.
  settings.nvdec_surfaces = pdq::kMaxHeldSources + 1;
  VideoDecoder dec(src, o.limits, settings);
  const VideoInfo& info = dec.info();
  out.kind = MediaKind::kVideo;
  out.codec = info.codec;
  out.rotation = info.rotation_cw;
  out.duration_s = info.duration_s;
  out.fps = info.fps;
  out.for_matching = o.for_matching;
  const Orientation orient =
      o.autorotate ? Orientation::rotation_cw(info.rotation_cw) : Orientation{};

  FrameSampler sampler(o.seconds_per_hash);
  FrameSampler match_sampler(match_step);
  std::optional<double> last_hashed;  // the time of the last frame hashed
  VideoFrame frame;
  int64_t decoded = 0;
  // Backends that want batches (the GPU) get each sampled plane staged into
  // their own memory at once, so the decoder's buffers (NVDEC surfaces) are
  // free again before the batch is hashed; the CPU hashes each at once.
  const size_t batch = std::max<size_t>(1, backend.preferred_batch());
  const std::unique_ptr<pdq::FrameStager> stager = batch > 1 ? backend.make_stager() : nullptr;
  const bool want_dihedral = o.dihedral || o.for_matching;
  // Borders are looked for in host planes hashed on the CPU backend only.
  const bool find_borders = o.for_matching && backend.cuda_device() < 0;
  std::vector<pdq::HashRequest> requests;
  struct Sampled {
    int64_t index;
    double ts;
    bool printed;   // taken by the --seconds-per-hash sampler
    bool unpadded;  // the content without borders of the frame before
  };
  std::vector<Sampled> sampled;
  std::optional<pdq::Rect> content;  // of the last frame looked at
  bool looked_for_borders = false;
  auto flush = [&] {
    std::vector<pdq::PdqResult> results(requests.size());
    backend.hash(requests, results);
    if (stager) stager->reset();
    FrameHash* last = nullptr;
    for (size_t k = 0; k < results.size(); ++k) {
      const Sampled& s = sampled[k];
      if (s.unpadded) {
        if (last) add_variants(*last, results[k], pdq::kUnpaddedBit, kVideoVariants);
        continue;
      }
      auto& into = s.printed ? out.frames : out.match_frames;
      into.push_back(frame_hash(s.index, s.ts, results[k], s.printed && o.dihedral));
      last = &into.back();
      if (o.for_matching) add_variants(*last, results[k], 0, kVideoVariants);
    }
    requests.clear();
    sampled.clear();
  };
  // A limit reached mid-stream (time, frame count, an oversized frame) ends
  // decoding, but the frames hashed so far stay in the result (partial).
  try {
    while (dec.next(frame)) {
      ++decoded;
      if (dec.repaired_timestamps() > 0 && dec.skipped_frames()) throw DecodeAgainWithoutSkipping{};
      const bool printed = sampler.take(frame.ts);
      // A frame out of the decoder was either taken by a sampler or decoded
      // because others refer to it: hashing it costs little more.
      const bool for_matching =
          (denser && match_sampler.take(frame.ts)) ||
          (decoded_gap > 0 &&
           (!last_hashed || frame.ts + FrameSampler::kSlack >= *last_hashed + decoded_gap));
      if (!printed && !for_matching) continue;
      last_hashed = frame.ts;
      LumaPlane plane = frame.plane;
      if (plane.location == MemoryLocation::kDevice && backend.cuda_device() < 0)
        throw MediaError(ErrorCode::kInternal, "decoded on the GPU but hashing on the CPU");
      // Bars and padding stay put through a video: they are looked for on
      // the printed frames, and the frames between reuse what was found.
      if (find_borders && (printed || !looked_for_borders)) {
        content = pdq::find_content(plane);
        looked_for_borders = true;
      }
      if (stager) plane = stager->stage(plane, std::move(frame.hold));
      requests.push_back({plane, orient, pdq::Downsampler::kSeparable, want_dihedral});
      sampled.push_back({frame.index, frame.ts, printed, false});
      if (content) {
        requests.push_back(
            {pdq::crop(plane, *content), orient, pdq::Downsampler::kSeparable, want_dihedral});
        sampled.push_back({frame.index, frame.ts, printed, true});
      }
      out.width = orient.transpose ? frame.plane.height : frame.plane.width;
      out.height = orient.transpose ? frame.plane.width : frame.plane.height;
      if (requests.size() >= batch) flush();
    }
  } catch (const MediaError&) {
    flush();
    throw;
  }
  flush();
  out.decoder = dec.info().decoder;  // may have fallen back while decoding
  if (dec.repaired_timestamps() > 0)
    out.warnings.push_back(
        {"timestamps_repaired",
         std::to_string(dec.repaired_timestamps()) +
             " frames had missing, repeated, backward or absurd timestamps; each was placed "
             "one frame interval after the frame before it, and every frame that decoded "
             "was sampled on that timeline"});
  if (!dec.info().nvdec_fallback.empty())
    out.warnings.push_back({"nvdec_fallback", dec.info().nvdec_fallback + "; decoded on the CPU"});
  if (decoded > 0 && out.frames.empty())
    throw MediaError(ErrorCode::kNoFrames,
                     "no frame has a timestamp at or after the stream's start");
  if (decoded == 0) {
    throw MediaError(dec.corrupt_packets() > 0 ? ErrorCode::kDecodeFailed : ErrorCode::kNoFrames,
                     dec.corrupt_packets() > 0
                         ? "no frame could be decoded (" + std::to_string(dec.corrupt_packets()) +
                               " packets failed: corrupt, or frames over --max-pixels)"
                         : "the video stream has no frames");
  }
  if (dec.corrupt_packets() > 0)
    out.warnings.push_back({"corrupt_packets", std::to_string(dec.corrupt_packets()) +
                                                   " packets or frames could not be decoded; the " +
                                                   std::to_string(decoded) +
                                                   " frames that decoded were used"});
  if (dec.concealed_frames() > 0)
    out.warnings.push_back(
        {"corrupt_frames", std::to_string(dec.concealed_frames()) +
                               " frames were damaged; the decoder concealed the errors"});
  if (dec.read_error()) {
    out.warnings.push_back({"truncated", "the file ended unexpectedly; hashed the " +
                                             std::to_string(decoded) + " frames before the end"});
  } else if (dec.indexed_frames() - dec.stream_frames() >
             dec.corrupt_packets()) {  // more missing than failed
    out.warnings.push_back(
        {"truncated", "the container lists " + std::to_string(dec.indexed_frames()) +
                          " frames but only " + std::to_string(dec.stream_frames()) +
                          " could be read; the file may be truncated"});
  }
}

// A video: with frame skipping, and again without it when the timeline
// needed repair after frames were skipped.
void hash_stream(const MediaSource& src, const HashOptions& o, pdq::PdqBackend& backend,
                 MediaResult& out) {
  try {
    hash_video(src, o, backend, out, true);
  } catch (const DecodeAgainWithoutSkipping&) {
    MediaResult again;
    again.md5 = out.md5;
    again.sha1 = out.sha1;
    again.sha256 = out.sha256;
    out = std::move(again);
    hash_video(src, o, backend, out, false);
  }
}

// An animated GIF: the video path, within bounds judged on its shape
// before anything is decoded (gif_scan.h). A screen far larger than what
// its frames draw is refused; beyond the canvas-pixel budget the frames
// after the first ones are not decoded (a partial result says so).
void hash_gif(const MediaSource& src, const HashOptions& o, pdq::PdqBackend& backend,
              MediaResult& out) {
  const GifShape g = scan_gif(src);
  const int64_t canvas = g.canvas_pixels();
  if (canvas > kGifFreeCanvasPixels && g.frames > 0 &&
      canvas / kGifIdleCanvasRatio > g.drawn_pixels)
    throw MediaError(ErrorCode::kDecodeFailed,
                     "a GIF screen of " + std::to_string(g.width) + "x" + std::to_string(g.height) +
                         " is more than " + std::to_string(kGifIdleCanvasRatio) +
                         " times what its " + std::to_string(g.frames) + " frames draw (" +
                         std::to_string(g.drawn_pixels) + " pixels); not composed");
  HashOptions bounded = o;
  bool capped = false;
  if (canvas > 0) {
    const int64_t most = std::max<int64_t>(1, o.limits.max_gif_pixel_frames / canvas);
    capped = most < bounded.limits.max_frames && most < g.frames;
    bounded.limits.max_frames = std::min(bounded.limits.max_frames, most);
  }
  try {
    hash_stream(src, bounded, backend, out);
  } catch (const MediaError& e) {
    if (!capped || e.code() != ErrorCode::kTooLarge) throw;
    throw MediaError(ErrorCode::kTooLarge,
                     "a GIF composes every frame on its whole " + std::to_string(g.width) + "x" +
                         std::to_string(g.height) + " screen: decoded the first " +
                         std::to_string(bounded.limits.max_frames) + " of its " +
                         std::to_string(g.frames) + " frames (" +
                         std::to_string(o.limits.max_gif_pixel_frames) + " screen pixels in all)");
  }
}

}  // namespace

MediaResult hash_media(MediaSource& source, const HashOptions& options, pdq::PdqBackend& backend) {
  MediaResult out;
  try {
    if (source.size() == 0) throw MediaError(ErrorCode::kEmptyFile, "the file is empty (0 bytes)");
    // Animated formats (GIF) take the video path; so does anything that is
    // not a still-image format we decode.
    const auto kind = probe_image(source.head(kImageMagicBytes));
    const bool still = kind && kind->format != ImageFormat::kGif;
    // A still is read into memory once, for its digests and its decoder;
    // anything else (or a still over the size limit) is streamed through them.
    const FileDigests d = still && source.size() <= kMaxImageFileBytes
                              ? compute_digests(source.contiguous(kMaxImageFileBytes))
                              : compute_digests(source);
    out.md5 = d.md5;
    out.sha1 = d.sha1;
    out.sha256 = d.sha256;
    if (still) {
      const auto bytes = source.contiguous(kMaxImageFileBytes);
      const auto probe = probe_image(bytes);  // the whole file: size, truncation
      hash_image(bytes, *probe, options, backend, out);
    } else if (kind && kind->format == ImageFormat::kGif) {
      hash_gif(source, options, backend, out);
    } else {
      hash_stream(source, options, backend, out);
    }
  } catch (const MediaError& e) {
    out.error = e;
  } catch (const std::bad_alloc&) {
    out.error = MediaError(ErrorCode::kInternal, "out of memory while hashing");
  } catch (const std::exception& e) {
    out.error = MediaError(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
  // Frames hashed before a limit stopped a video are kept: a long upload
  // must not go unmatched because its end is over a limit.
  if (out.error) {
    const ErrorCode c = out.error->code();
    out.partial = !out.frames.empty() && (c == ErrorCode::kTimeout || c == ErrorCode::kTooLarge ||
                                          c == ErrorCode::kDecodeFailed);
    if (!out.partial) {
      out.frames.clear();
      out.match_frames.clear();
      out.for_matching = false;
    }
  }
  return out;
}

namespace {

// Opens the source and hashes it; every failure becomes the result's error.
template <typename Open>
MediaResult hash_opened(Open&& open, const std::string& display_path, const HashOptions& options,
                        pdq::PdqBackend& backend) {
  MediaResult out;
  try {
    MediaSource src = open();
    out = hash_media(src, options, backend);
  } catch (const MediaError& e) {
    out.error = e;
  } catch (const std::exception& e) {
    out.error = MediaError(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
  out.path = display_path;
  return out;
}

}  // namespace

MediaResult hash_file(const std::filesystem::path& file, const std::string& display_path,
                      const HashOptions& options, pdq::PdqBackend& backend) {
  return hash_opened([&] { return MediaSource::open_file(file); }, display_path, options, backend);
}

MediaResult hash_bytes(std::span<const uint8_t> bytes, const std::string& display_path,
                       const HashOptions& options, pdq::PdqBackend& backend) {
  return hash_opened([&] { return MediaSource::view(bytes); }, display_path, options, backend);
}

}  // namespace frameprint
