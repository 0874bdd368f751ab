// Hash lists as platforms receive them (Take It Down, StopNCII,
// ThreatExchange, Hasher-Matcher-Actioner): PDQ hashes, vPDQ videos, MD5,
// SHA-1 and SHA-256 digests, in the formats the ecosystem's tools write
// (list_formats.h). Loaded whole or not at all: a malformed line rejects
// the list with its file and line number.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernels/hash_search.h"
#include "kernels/vpdq_compare.h"
#include "worker/matching/list_formats.h"
#include "worker/matching/list_reader.h"

namespace frameprint {

// What --list names: "TYPE:PATH", "TYPE:FORMAT:PATH", "FORMAT:PATH" or
// "auto:PATH". Without a TYPE every type the file holds is loaded (the
// format must say which type each entry is); the list's name is the
// path's stem.
struct ListSpec {
  std::optional<ListType> type;
  ListFormat format = ListFormat::kAuto;
  std::filesystem::path path;
  std::string name;
};
ListSpec parse_list_spec(const std::string& spec);  // throws std::invalid_argument

struct ListLoadOptions {
  ListLimits limits;
  int min_quality = 50;      // PDQ entries the list rates below this are dropped
  bool allow_empty = false;  // a list with no usable entry is an error unless set
};

// What the lists say about their entries, one per (entry, source row) kept.
struct ListedEntries {
  std::vector<EntryInfo> first;             // per entry
  std::multimap<uint32_t, EntryInfo> more;  // further rows for the same hash, in file order
  std::vector<EntryMeta> metas;             // [0] is "none"

  template <typename F>
  void each(uint32_t entry, F&& f) const {
    f(first[entry]);
    auto [a, b] = more.equal_range(entry);
    for (auto it = a; it != b; ++it) f(it->second);
  }
  const EntryMeta& meta(const EntryInfo& info) const { return metas[info.meta]; }
};

struct PdqList {
  std::string name;
  ListedEntries entries;
  pdq::HashSearch index;  // entry i is entries.first[i]
};

struct VpdqList {
  std::string name;
  std::vector<std::vector<pdq::VpdqFrame>> videos;
  ListedEntries entries;  // per video
  // Every frame of every video, for finding candidate videos quickly.
  pdq::HashSearch frames;
  struct Owner {
    uint32_t video;
    uint32_t frame;
  };
  std::vector<Owner> frame_owner;  // per indexed frame: which video, which of its frames
};

struct DigestList {
  std::string name;
  ListType type;                                    // kMd5, kSha1 or kSha256
  std::unordered_map<std::string, uint32_t> index;  // lowercase hex -> entry
  ListedEntries entries;
};

// What loading one --list found: reported as one log line and by
// `frameprint match --list-stats` (docs/output.md).
struct ListStats {
  std::string name;
  std::string path;
  std::optional<ListType> type;           // as asked; nullopt: every type
  ListFormat format = ListFormat::kAuto;  // as detected
  std::map<ListType, size_t> entries;     // per type: distinct hashes (videos for vPDQ)
  size_t rows = 0;                        // entries read (a vPDQ video counts once)
  size_t duplicates = 0;                  // rows whose hash was already listed
  size_t low_quality = 0;                 // PDQ rows rated below --min-quality: dropped
  size_t low_quality_frames = 0;          // vPDQ frames below --min-quality: kept, never compared
  size_t other_types = 0;                 // rows of a type not asked for, or not matched here
  size_t uppercase = 0;                   // rows whose hex digits were upper case
  bool bom = false;                       // the file began with a UTF-8 byte order mark
  size_t crlf_lines = 0;                  // lines ending in CR LF

  size_t total_entries() const;
  std::string summary(int min_quality) const;  // one line
  std::string notes(int min_quality) const;    // "; 3 duplicates, ..." or ""
  nlohmann::ordered_json to_json() const;
};

struct HashLists {
  std::vector<PdqList> pdq;
  std::vector<VpdqList> vpdq;
  std::vector<DigestList> digests;
  std::vector<ListStats> stats;  // one per spec, in order

  bool empty() const { return pdq.empty() && vpdq.empty() && digests.empty(); }
  // Throws ListError naming the file (and line) at fault.
  static HashLists load(const std::vector<ListSpec>& specs, const ListLoadOptions& options = {});
  // Moves every PDQ and vPDQ list's search to CUDA device `device`; lists
  // that cannot go there stay on the CPU. Returns one line per such list
  // (empty when all moved).
  std::vector<std::string> use_gpu(int device);
};

}  // namespace frameprint
