#include "worker/media/media_result.h"

#include "ipc/common/json_text.h"

#include <cmath>
#include <cstdio>

namespace frameprint {

namespace {

double rounded(double v, double scale) { return std::round(v * scale) / scale; }

const char* const kDihedralNames[pdq::kDihedralCount] = {
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"};

}  // namespace

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
    nlohmann::ordered_json fj;
    fj["index"] = f.index;
    fj["ts"] = rounded(f.ts, 1e6);
    fj["quality"] = f.quality;
    fj["pdq"] = f.pdq.to_hex();
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
