// The video matcher at scale: one 60 s query against 100,000 listed videos
// hashed at 1 hash/s (3,000,000 frames; random hashes, one listed video a
// copy of the query), memory and time per query for
//   frames  the reference's frame-count rule (--vpdq-rule frames), the
//           query's 60 printed frames: the matcher before the time rule;
//   time    the time rule on the same 60 plain frames (the decision alone);
//   time, hashed for matching  the default query with lists: 10 frames a
//           second (600: the references of a typical upload, at most
//           --match-decoded-fps 10), each with mirrored and unpadded hashes;
//   time, --loose-search  the 60 frames also searched to distance 44.
//   build/bin/frameprint_bench_video_match [VIDEOS]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "worker/matching/matcher.h"

namespace {

using namespace frameprint;

Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

Hash256 near(Hash256 h, std::mt19937_64& rng, int bits) {
  for (int i = 0; i < bits; ++i) {
    const auto b = rng() % 256;
    h.words[b >> 6] ^= uint64_t{1} << (b & 63);
  }
  return h;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long v = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return v;
}

int g_videos = 100'000;

struct World {
  std::shared_ptr<const Matcher> frames, time, loose;
  MatchQuery sparse, dense;
  long list_kib = 0;
};

World& world() {
  static World w = [] {
    World x;
    std::mt19937_64 rng(7);
    const auto path = std::filesystem::temp_directory_path() / "frameprint-video-match-bench.te";
    std::vector<Hash256> copy;  // the listed video the query copies
    {
      std::ofstream out(path);
      for (int v = 0; v < g_videos; ++v) {
        out << "vpdq [";
        for (int f = 0; f < 30; ++f) {
          const Hash256 h = random_hash(rng);
          if (v == g_videos / 2) copy.push_back(h);
          out << (f ? ", \"" : "\"") << h.to_hex() << ",100," << f << ".000\"";
        }
        out << "]\n";
      }
    }
    const long before = rss_kib();
    HashLists lists = HashLists::load({parse_list_spec("vpdq:te:" + path.string())});
    x.list_kib = rss_kib() - before;
    MatchRules frames;
    frames.vpdq_rule = VpdqRule::kFrames;
    x.frames = std::make_shared<const Matcher>(std::move(lists), frames);
    x.time = std::make_shared<const Matcher>(
        HashLists::load({parse_list_spec("vpdq:te:" + path.string())}), MatchRules{});
    MatchRules loose;
    loose.loose_search = true;
    x.loose = std::make_shared<const Matcher>(
        HashLists::load({parse_list_spec("vpdq:te:" + path.string())}), loose);
    std::filesystem::remove(path);
    // The query: 60 s, its first 30 s a copy of the listed video.
    x.sparse.video = x.dense.video = true;
    for (int t = 0; t < 60; ++t) {
      const Hash256 h = t < 30 ? near(copy[static_cast<size_t>(t)], rng, 8) : random_hash(rng);
      x.sparse.frames.push_back(MatchQuery::Frame::plain(t * 30, t, 100, h));
    }
    for (int k = 0; k < 600; ++k) {
      const double t = k * 0.1;
      const Hash256 h =
          k % 10 == 0 ? x.sparse.frames[static_cast<size_t>(k / 10)].pdq : random_hash(rng);
      auto f = MatchQuery::Frame::plain(k * 3, t, 100, h);
      f.printed = k % 10 == 0;
      f.variants.push_back({random_hash(rng), 5, 100});                  // flipy
      f.variants.push_back({random_hash(rng), pdq::kUnpaddedBit, 100});  // unpadded
      f.variants.push_back({random_hash(rng), pdq::kUnpaddedBit | 5, 100});
      x.dense.frames.push_back(std::move(f));
    }
    return x;
  }();
  return w;
}

void run(benchmark::State& state, const Matcher& m, const MatchQuery& q) {
  size_t found = 0;
  for (auto _ : state) found += m.matches(q).size();
  state.counters["matches"] = static_cast<double>(found) / static_cast<double>(state.iterations());
  state.counters["list_MiB"] = static_cast<double>(world().list_kib) / 1024.0;
}

void BM_FrameRule60Frames(benchmark::State& s) { run(s, *world().frames, world().sparse); }
void BM_TimeRule60Frames(benchmark::State& s) { run(s, *world().time, world().sparse); }
void BM_TimeRuleHashedForMatching(benchmark::State& s) { run(s, *world().time, world().dense); }
void BM_TimeRuleLooseSearch60Frames(benchmark::State& s) { run(s, *world().loose, world().sparse); }
BENCHMARK(BM_FrameRule60Frames)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TimeRule60Frames)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TimeRuleHashedForMatching)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TimeRuleLooseSearch60Frames)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && argv[1][0] != '-') {
    g_videos = std::max(1, std::atoi(argv[1]));
    --argc;
    ++argv;
  }
  benchmark::Initialize(&argc, argv);
  world();
  std::printf("%d listed videos, 30 frames each: the list takes %.0f MiB\n", g_videos,
              static_cast<double>(world().list_kib) / 1024.0);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
