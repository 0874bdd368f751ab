#include "worker/media/media_result.h"

#include "ipc/common/json_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace frameprint {

namespace {

double rounded(double v, double scale) { return std::round(v * scale) / scale; }

const char* const kDihedralNames[pdq::kDihedralCount] = {
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"};

nlohmann::ordered_json frame_json(const FrameHash& f) {
  nlohmann::ordered_json fj;
  fj["index"] = f.index;
  fj["ts"] = rounded(f.ts, 1e6);
  fj["quality"] = f.quality;
  fj["pdq"] = f.pdq.to_hex();
  return fj;
}

}  // namespace

std::string variant_name(uint8_t tag) {
  const int k = tag & 7;
  if (!(tag & pdq::kUnpaddedBit)) return k == 0 ? std::string() : kDihedralNames[k];
  return k == 0 ? std::string("unpadded") : std::string("unpadded+") + kDihedralNames[k];
}

std::optional<uint8_t> variant_tag(std::string_view name) {
  for (uint8_t t = 0; t < 16; ++t)
    if (variant_name(t) == name) return t;
  return std::nullopt;
}

nlohmann::ordered_json to_json(const MediaResult& r) {
  nlohmann::ordered_json j;
  set_path(j, r.path);
  if (r.error) {
    j["status"] = "error";
    j["error"] = {{"code", error_code_name(r.error->code())}, {"message", r.error->what()}};
    if (!r.partial) {
      if (!r.md5.empty()) {
        j["md5"] = r.md5;
        j["sha1"] = r.sha1;
        j["sha256"] = r.sha256;
      }
      return j;
    }
    j["partial"] = true;  // the frames below were hashed before the error stopped decoding
  } else {
    j["status"] = "ok";
  }
  j["kind"] = r.kind == MediaKind::kImage ? "image" : "video";
  j["md5"] = r.md5;
  j["sha1"] = r.sha1;
  j["sha256"] = r.sha256;
  j["width"] = r.width;
  j["height"] = r.height;
  if (r.kind == MediaKind::kImage) j["exact"] = r.exact;
  if (r.kind == MediaKind::kVideo) {
    j["rotation"] = r.rotation;
    j["codec"] = r.codec;
    j["decoder"] = r.decoder;
    j["duration_s"] = rounded(r.duration_s, 1e3);
    j["fps"] = rounded(r.fps, 1e3);
  }
  auto frames = nlohmann::ordered_json::array();
  for (const FrameHash& f : r.frames) {
    nlohmann::ordered_json fj = frame_json(f);
    if (f.dihedral) {
      nlohmann::ordered_json d;
      for (int k = 1; k < pdq::kDihedralCount; ++k)
        d[kDihedralNames[k]] = (*f.dihedral)[k].to_hex();
      fj["dihedral"] = std::move(d);
    }
    frames.push_back(std::move(fj));
  }
  j["frames"] = std::move(frames);
  if (!r.warnings.empty()) {
    auto w = nlohmann::ordered_json::array();
    for (const auto& x : r.warnings) w.push_back({{"code", x.code}, {"message", x.message}});
    j["warnings"] = std::move(w);
  }
  if (r.for_matching) {
    // Every frame hashed (sampled and for matching only), in time order,
    // with its variants: what the matcher reads, then removes.
    std::vector<const FrameHash*> all;
    for (const auto& f : r.frames) all.push_back(&f);
    for (const auto& f : r.match_frames) all.push_back(&f);
    std::stable_sort(all.begin(), all.end(),
                     [](const FrameHash* a, const FrameHash* b) { return a->ts < b->ts; });
    auto mf = nlohmann::ordered_json::array();
    for (const FrameHash* f : all) {
      nlohmann::ordered_json fj = frame_json(*f);
      if (!f->variants.empty()) {
        nlohmann::ordered_json v;
        int unpadded_quality = -1;
        for (const auto& th : f->variants) {
          v[variant_name(th.tag)] = th.hash.to_hex();
          if (th.tag & pdq::kUnpaddedBit) unpadded_quality = th.quality;
        }
        fj["variants"] = std::move(v);
        if (unpadded_quality >= 0) fj["unpadded_quality"] = unpadded_quality;
      }
      mf.push_back(std::move(fj));
    }
    j["match_frames"] = std::move(mf);
  }
  return j;
}

std::string to_vpdq_signal(const std::vector<FrameHash>& frames) {
  std::string out = "[";
  char ts[64];
  for (size_t i = 0; i < frames.size(); ++i) {
    std::snprintf(ts, sizeof ts, "%.3f", frames[i].ts);
    out += (i ? ", \"" : "\"") + frames[i].pdq.to_hex() + "," + std::to_string(frames[i].quality) +
           "," + ts + "\"";
  }
  return out + "]";
}

std::string to_vpdq_text(const MediaResult& r) {
  std::string out;
  char ts[64];
  for (const FrameHash& f : r.frames) {
    std::snprintf(ts, sizeof ts, "%.3f", f.ts);
    out += std::to_string(f.index) + "," + std::to_string(f.quality) + "," + f.pdq.to_hex() + "," +
           ts + "\n";
  }
  return out;
}

}  // namespace frameprint
