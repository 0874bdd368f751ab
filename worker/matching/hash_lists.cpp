#include "worker/matching/hash_lists.h"

#include <algorithm>
#include <numeric>
#include <string_view>

namespace frameprint {

namespace fs = std::filesystem;

ListSpec parse_list_spec(const std::string& spec) {
  static const std::string kUsage =
      "--list wants TYPE:PATH, TYPE:FORMAT:PATH, FORMAT:PATH or auto:PATH (types: pdq, vpdq, md5, "
      "sha1, sha256, "
      "video_md5, video_sha256; formats: auto, plain, te, te-csv, pdq-hasher, vpdq, vpdq-json)";
  const auto colon = spec.find(':');
  if (colon == std::string::npos)
    throw std::invalid_argument(kUsage + ", got \"" + snippet(spec) + "\"");
  const std::string first = spec.substr(0, colon);
  std::string rest = spec.substr(colon + 1);
  ListSpec s;
  if (const auto t = list_type_from_name(first)) {
    s.type = *t;
    const auto c2 = rest.find(':');
    if (c2 != std::string::npos)
      if (const auto f = list_format_from_name(rest.substr(0, c2))) {
        s.format = *f;
        rest.erase(0, c2 + 1);
      }
  } else if (const auto f = list_format_from_name(first)) {
    s.format = *f;
  } else {
    throw std::invalid_argument("unknown list type or format \"" + snippet(first) + "\"; " +
                                kUsage);
  }
  if (rest.empty()) throw std::invalid_argument(kUsage + ", got \"" + snippet(spec) + "\"");
  s.path = rest;
  s.name = s.path.stem().string();
  if (s.name.empty()) s.name = s.path.filename().string();
  if (s.name.empty()) s.name = s.path.parent_path().filename().string();
  return s;
}

namespace {

// Collaboration/category/tag sets are few; entries refer to them by number.
class MetaTable {
 public:
  explicit MetaTable(std::vector<EntryMeta>& metas) : metas_(metas) {
    if (metas_.empty()) metas_.emplace_back();
  }
  uint32_t intern(EntryMeta&& m) {
    if (m.empty()) return 0;
    std::string key = m.collab + '\x1f' + m.category;
    for (const auto& t : m.tags) key += '\x1f' + t;
    const auto [it, fresh] =
        index_.try_emplace(std::move(key), static_cast<uint32_t>(metas_.size()));
    if (fresh) metas_.push_back(std::move(m));
    return it->second;
  }

 private:
  std::vector<EntryMeta>& metas_;
  std::unordered_map<std::string, uint32_t> index_;
};

// Whether a further row for an already listed hash says something new: a
// row with the same metadata and quality and no id of its own (or the same
// id) is a plain repeat and is dropped.
bool adds_something(const ListedEntries& e, uint32_t entry, const EntryInfo& info) {
  bool adds = true;
  e.each(entry, [&](const EntryInfo& kept) {
    if (kept.meta == info.meta && kept.quality == info.quality &&
        (info.id.empty() || info.id == kept.id))
      adds = false;
  });
  return adds;
}

EntryInfo info_of(ListRow& row, MetaTable& metas) {
  return EntryInfo{std::move(row.id), row.line, row.quality, metas.intern(std::move(row.meta))};
}

class PdqBuilder {
 public:
  PdqBuilder() : metas_(list_.entries.metas) {}
  void add(ListRow& row) {
    hashes_.push_back(row.pdq);
    infos_.push_back(info_of(row, metas_));
  }
  // Merges repeated hashes (first occurrence order kept); returns how many
  // rows repeated a hash already listed.
  size_t finish(const std::string& name) {
    const size_t n = hashes_.size();
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return hashes_[a].words != hashes_[b].words ? hashes_[a].words < hashes_[b].words : a < b;
    });
    std::vector<uint32_t> first_of(n);  // row -> the first row with its hash
    size_t duplicates = 0;
    for (size_t i = 0; i < n; ++i) {
      const bool repeat = i > 0 && hashes_[order[i]] == hashes_[order[i - 1]];
      first_of[order[i]] = repeat ? first_of[order[i - 1]] : order[i];
      duplicates += repeat;
    }
    std::vector<uint32_t> entry_of(n);
    std::vector<Hash256> unique;
    for (uint32_t i = 0; i < n; ++i) {
      if (first_of[i] != i) continue;
      entry_of[i] = static_cast<uint32_t>(unique.size());
      unique.push_back(hashes_[i]);
      list_.entries.first.push_back(std::move(infos_[i]));
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (first_of[i] == i) continue;
      const uint32_t entry = entry_of[first_of[i]];
      if (adds_something(list_.entries, entry, infos_[i]))
        list_.entries.more.emplace(entry, std::move(infos_[i]));
    }
    hashes_.clear();
    infos_.clear();
    list_.name = name;
    list_.index = pdq::HashSearch(std::move(unique));
    return duplicates;
  }
  PdqList& list() { return list_; }

 private:
  PdqList list_;
  MetaTable metas_;
  std::vector<Hash256> hashes_;
  std::vector<EntryInfo> infos_;
};

class DigestBuilder {
 public:
  explicit DigestBuilder(ListType t) : metas_(list_.entries.metas) { list_.type = t; }
  // Returns false when the digest was already listed.
  bool add(ListRow& row) {
    const auto [it, fresh] = list_.index.try_emplace(
        std::move(row.digest), static_cast<uint32_t>(list_.entries.first.size()));
    EntryInfo info = info_of(row, metas_);
    if (fresh) {
      list_.entries.first.push_back(std::move(info));
      return true;
    }
    if (adds_something(list_.entries, it->second, info))
      list_.entries.more.emplace(it->second, std::move(info));
    return false;
  }
  DigestList& list() { return list_; }

 private:
  DigestList list_;
  MetaTable metas_;
};

class VpdqBuilder {
 public:
  VpdqBuilder() : metas_(list_.entries.metas) {}
  // Returns false when the same video (every frame alike) was already listed.
  bool add(ListRow& row) {
    std::string key;
    key.reserve(row.frames.size() * 48);
    for (const auto& f : row.frames) {
      key.append(reinterpret_cast<const char*>(f.hash.words.data()), sizeof f.hash.words);
      key += std::to_string(f.quality) + ',' + std::to_string(f.ts) + ';';
    }
    const auto [it, fresh] =
        seen_.try_emplace(std::move(key), static_cast<uint32_t>(list_.videos.size()));
    EntryInfo info = info_of(row, metas_);
    if (fresh) {
      list_.videos.push_back(std::move(row.frames));
      list_.entries.first.push_back(std::move(info));
      return true;
    }
    if (adds_something(list_.entries, it->second, info))
      list_.entries.more.emplace(it->second, std::move(info));
    return false;
  }
  VpdqList& finish(const std::string& name) {
    seen_.clear();
    list_.name = name;
    std::vector<Hash256> hashes;
    for (uint32_t v = 0; v < list_.videos.size(); ++v)
      for (uint32_t i = 0; i < list_.videos[v].size(); ++i) {
        hashes.push_back(list_.videos[v][i].hash);
        list_.frame_owner.push_back({v, i});
      }
    list_.frames = pdq::HashSearch(std::move(hashes));
    return list_;
  }

 private:
  VpdqList list_;
  MetaTable metas_;
  std::unordered_map<std::string, uint32_t> seen_;
};

// One --list: its files read into a list per type.
class SpecLoader {
 public:
  SpecLoader(const ListSpec& spec, const ListLoadOptions& o)
      : spec_(spec),
        o_(o),
        md5_(ListType::kMd5),
        sha1_(ListType::kSha1),
        sha256_(ListType::kSha256) {
    stats_.name = spec.name;
    stats_.path = spec.path.string();
    stats_.type = spec.type;
  }

  void load(HashLists& out) {
    std::error_code ec;
    if (fs::is_directory(spec_.path, ec)) {
      // A directory: every .txt and .json file in it (one video each, for vPDQ).
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(spec_.path, ec))
        if (e.is_regular_file() &&
            (e.path().extension() == ".txt" || e.path().extension() == ".json"))
          files.push_back(e.path());
      if (ec) throw ListError(spec_.path.string() + ": cannot list directory: " + ec.message());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) read_file(f);
    } else {
      read_file(spec_.path);
    }
    stats_.duplicates += pdq_.finish(spec_.name);
    if (const size_t n = pdq_.list().index.size()) {
      stats_.entries[ListType::kPdq] = n;
      out.pdq.push_back(std::move(pdq_.list()));
    }
    VpdqList& videos = vpdq_.finish(spec_.name);
    if (const size_t n = videos.videos.size()) {
      stats_.entries[ListType::kVpdq] = n;
      out.vpdq.push_back(std::move(videos));
    }
    for (DigestBuilder* d : {&md5_, &sha1_, &sha256_}) {
      if (const size_t n = d->list().index.size()) {
        stats_.entries[d->list().type] = n;
        d->list().name = spec_.name;
        out.digests.push_back(std::move(d->list()));
      }
    }
    if (stats_.total_entries() == 0 && !o_.allow_empty)
      throw ListError(spec_.path.string() + ": no usable entries in " +
                      std::to_string(stats_.rows) + " rows" + stats_.notes(o_.min_quality) +
                      " (give --allow-empty-list to accept an empty list)");
    out.stats.push_back(std::move(stats_));
  }

 private:
  void read_file(const fs::path& file) {
    ListReader reader(file, o_.limits);
    const ListFormat f = read_list_rows(reader, spec_.type, spec_.format, file.stem().string(),
                                        [&](ListRow&& row) { add(row); });
    stats_.format = files_read_++ == 0 || stats_.format == f ? f : ListFormat::kAuto;
    stats_.bom |= reader.had_bom();
    stats_.crlf_lines += reader.crlf_lines();
  }

  void add(ListRow& row) {
    ++stats_.rows;
    stats_.uppercase += row.uppercase;
    if (!row.type || (spec_.type && *row.type != *spec_.type)) {
      ++stats_.other_types;
      return;
    }
    switch (*row.type) {
      case ListType::kPdq:
        if (row.quality >= 0 && row.quality < o_.min_quality) {
          ++stats_.low_quality;  // never compared: the matcher's quality rule
          return;
        }
        pdq_.add(row);
        return;
      case ListType::kVpdq:
        if (row.frames.empty()) return;  // nothing to match
        stats_.low_quality_frames += static_cast<size_t>(
            std::count_if(row.frames.begin(), row.frames.end(),
                          [&](const pdq::VpdqFrame& f) { return f.quality < o_.min_quality; }));
        stats_.duplicates += !vpdq_.add(row);
        return;
      case ListType::kMd5: stats_.duplicates += !md5_.add(row); return;
      case ListType::kSha1: stats_.duplicates += !sha1_.add(row); return;
      case ListType::kSha256: stats_.duplicates += !sha256_.add(row); return;
    }
  }

  const ListSpec& spec_;
  const ListLoadOptions& o_;
  ListStats stats_;
  size_t files_read_ = 0;
  PdqBuilder pdq_;
  VpdqBuilder vpdq_;
  DigestBuilder md5_, sha1_, sha256_;
};

}  // namespace

size_t ListStats::total_entries() const {
  size_t n = 0;
  for (const auto& [t, count] : entries) n += count;
  return n;
}

std::string ListStats::summary(int min_quality) const {
  std::string s =
      "list " + name + " (" + std::string(list_format_name(format)) + ", " + path + "): ";
  if (entries.empty()) s += "no entries";
  bool first = true;
  for (const auto& [t, n] : entries) {
    s += (first ? "" : ", ") + std::to_string(n) + " " + std::string(list_type_name(t));
    first = false;
  }
  return s + " from " + std::to_string(rows) + " rows" + notes(min_quality);
}

std::string ListStats::notes(int min_quality) const {
  std::string s;
  std::vector<std::string> notes;
  if (duplicates) notes.push_back(std::to_string(duplicates) + " duplicates");
  if (low_quality)
    notes.push_back(std::to_string(low_quality) + " below quality " + std::to_string(min_quality) +
                    " dropped");
  if (low_quality_frames)
    notes.push_back(std::to_string(low_quality_frames) + " vPDQ frames below quality " +
                    std::to_string(min_quality));
  if (other_types) notes.push_back(std::to_string(other_types) + " of other types skipped");
  if (uppercase) notes.push_back(std::to_string(uppercase) + " in upper case");
  if (bom) notes.push_back("byte order mark");
  if (crlf_lines) notes.push_back("CR LF line ends");
  for (size_t i = 0; i < notes.size(); ++i) s += (i == 0 ? "; " : ", ") + notes[i];
  return s;
}

nlohmann::ordered_json ListStats::to_json() const {
  nlohmann::ordered_json j;
  j["list"] = name;
  j["path"] = path;
  j["type"] =
      type ? nlohmann::ordered_json(list_type_name(*type)) : nlohmann::ordered_json(nullptr);
  j["format"] = list_format_name(format);
  auto e = nlohmann::ordered_json::object();
  for (const auto& [t, n] : entries) e[std::string(list_type_name(t))] = n;
  j["entries"] = std::move(e);
  j["rows"] = rows;
  j["duplicates"] = duplicates;
  j["low_quality"] = low_quality;
  j["low_quality_frames"] = low_quality_frames;
  j["other_types"] = other_types;
  j["uppercase"] = uppercase;
  j["bom"] = bom;
  j["crlf_lines"] = crlf_lines;
  return j;
}

HashLists HashLists::load(const std::vector<ListSpec>& specs, const ListLoadOptions& options) {
  HashLists lists;
  for (const auto& s : specs) SpecLoader(s, options).load(lists);
  return lists;
}

std::vector<std::string> HashLists::use_gpu(int device) {
  std::vector<std::string> problems;
  auto move = [&](pdq::HashSearch& search, const std::string& name) {
    std::string why;
    if (!search.use_gpu(device, &why))
      problems.push_back("list " + name + " stays on the CPU: " + why);
  };
  for (auto& l : pdq) move(l.index, l.name);
  for (auto& l : vpdq) move(l.frames, l.name);
  return problems;
}

}  // namespace frameprint
