// How far the default still route lands from the reference (issue 10).
//   frameprint_stills_distance [--scale N] CSV DIR   hashes in the CSV (file,quality,pdq[,7
//   dihedral]) frameprint_stills_distance [--scale N] DIR       the exact route's hashes as the
//   reference
// For each file: the default route (JPEG luma at its DCT scale, or colour
// decode; the separable downsampler) and the exact route (colour decode,
// the reference's box filter), each as quality and Hamming distance to the
// reference; then, over files of quality >= 80 on both sides (the shared
// test data's rule), the maximum and mean distance, and how many files are
// bit-identical (hash, quality and, when the CSV lists them, the seven
// dihedral hashes). --scale forces the JPEG DCT scale (1, 2, 4 or 8)
// instead of choosing it from the picture's size. Markdown on stdout.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/pdq_backend.h"
#include "worker/media/image_decoder.h"
#include "worker/media/media_error.h"
#include "worker/media/probe.h"

namespace fs = std::filesystem;
using namespace frameprint;

namespace {

struct Reference {
  std::string file;
  int quality = 0;
  std::vector<Hash256> hashes;  // the hash, then any dihedral ones
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
  return out;
}

struct Hashed {
  pdq::PdqResult result;
  std::string route;
};

Hashed hash(const std::vector<uint8_t>& bytes, bool exact, int scale, pdq::PdqBackend& backend) {
  const auto probe = probe_image(bytes);
  if (!probe) throw MediaError(ErrorCode::kUnsupportedFormat, "not a still image");
  StillOptions o;
  o.exact = exact;
  o.max_pixels = int64_t{1} << 30;
  o.dct_scale = scale;
  const DecodedImage img = decode_image(bytes, *probe, o);
  Hashed h;
  h.result = backend.hash_one(
      {img.plane(), {}, exact ? pdq::Downsampler::kReference : pdq::Downsampler::kSeparable, true});
  // Appended piece by piece: GCC 12 mis-warns (-Wrestrict) on "literal" + string.
  h.route = image_format_name(probe->format);
  if (img.route == StillRoute::kJpegLuma) {
    h.route += " luma 1/";
    h.route += std::to_string(img.dct_scale);
  } else {
    h.route += " colour";
  }
  h.route += ' ';
  h.route += std::to_string(img.width);
  h.route += 'x';
  h.route += std::to_string(img.height);
  return h;
}

struct Summary {
  int compared = 0, total = 0, worst = 0, identical = 0, files = 0;
  void add(int d, int qa, int qb, bool same) {
    ++files;
    if (same) ++identical;
    if (qa < 80 || qb < 80) return;
    ++compared;
    total += d;
    worst = std::max(worst, d);
  }
};

}  // namespace

int main(int argc, char** argv) {
  int scale = 0;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "--scale") {
    scale = std::stoi(args[1]);
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args.size() > 2) {
    std::fprintf(stderr, "usage: %s [--scale N] [CSV] DIR\n", argv[0]);
    return 2;
  }
  const fs::path dir = args.back();
  std::vector<Reference> refs;
  const bool have_csv = args.size() == 2;
  if (have_csv) {
    std::ifstream in(args[0]);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto f = split(line);
      if (f.size() < 3) continue;
      Reference r{f[0], std::stoi(f[1]), {}};
      for (size_t k = 2; k < f.size(); ++k)
        if (auto h = Hash256::from_hex(f[k])) r.hashes.push_back(*h);
      refs.push_back(std::move(r));
    }
  } else {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (auto& n : names) refs.push_back({n, -1, {}});
  }

  auto backend = pdq::make_cpu_backend();
  Summary def, exa;
  std::printf(
      "| file | default route, size | reference q | default q | default bits | default identical | "
      "exact q | exact "
      "bits | exact identical |\n|---|---|---|---|---|---|---|---|---|\n");
  for (auto& r : refs) {
    std::ifstream in(dir / r.file, std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    try {
      const Hashed e = hash(bytes, true, 0, *backend);
      const Hashed d = hash(bytes, false, scale, *backend);
      if (!have_csv) r = {r.file, e.result.quality, {e.result.hash}};
      auto same = [&](const pdq::PdqResult& x) {
        if (x.quality != r.quality) return false;
        for (size_t k = 0; k < r.hashes.size(); ++k)
          if (x.dihedral[k] != r.hashes[k]) return false;
        return true;
      };
      const int dd = hamming_distance(d.result.hash, r.hashes[0]);
      const int de = hamming_distance(e.result.hash, r.hashes[0]);
      const bool d_same = same(d.result), e_same = same(e.result);
      def.add(dd, d.result.quality, r.quality, d_same);
      exa.add(de, e.result.quality, r.quality, e_same);
      std::printf("| %s | %s | %d | %d | %d | %s | %d | %d | %s |\n", r.file.c_str(),
                  d.route.c_str(), r.quality, d.result.quality, dd, d_same ? "yes" : "no",
                  e.result.quality, de, e_same ? "yes" : "no");
    } catch (const std::exception& ex) {
      std::printf("| %s | error: %s | | | | | | | |\n", r.file.c_str(), ex.what());
      return 1;
    }
  }
  auto line = [](const char* name, const Summary& s) {
    std::printf(
        "%s: %d files, %d bit-identical; %d with quality >= 80 on both sides: max %d bits, mean "
        "%.2f\n",
        name, s.files, s.identical, s.compared, s.worst,
        s.compared ? static_cast<double>(s.total) / s.compared : 0.0);
  };
  std::printf("\n");
  line("default", def);
  line("exact  ", exa);
  return 0;
}
