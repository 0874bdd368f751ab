#include "worker/matching/hash_lists.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string_view>

namespace frameprint {

namespace fs = std::filesystem;

std::string_view list_type_name(ListType t) {
  switch (t) {
    case ListType::kPdq: return "pdq";
    case ListType::kVpdq: return "vpdq";
    case ListType::kMd5: return "md5";
    case ListType::kSha256: return "sha256";
  }
  return "pdq";
}

ListSpec parse_list_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon + 1 == spec.size())
    throw std::invalid_argument("--list wants TYPE:PATH (pdq, vpdq, md5 or sha256), got \"" + spec + "\"");
  const std::string type = spec.substr(0, colon);
  ListSpec s{ListType::kPdq, spec.substr(colon + 1), ""};
  if (type == "pdq") s.type = ListType::kPdq;
  else if (type == "vpdq") s.type = ListType::kVpdq;
  else if (type == "md5") s.type = ListType::kMd5;
  else if (type == "sha256") s.type = ListType::kSha256;
  else throw std::invalid_argument("unknown list type \"" + type + "\" (pdq, vpdq, md5 or sha256)");
  s.name = s.path.stem().string();
  if (s.name.empty()) s.name = s.path.filename().string();
  return s;
}

namespace {

// Reads a text list line by line: trims, skips blanks and # comments, and
// numbers lines for error messages, which name `origin` (the list's file).
class ListReader {
 public:
  ListReader(std::istream& in, const fs::path& origin) : origin_(origin), in_(in) {}
  bool next(std::string& line) {
    while (std::getline(in_, line)) {
      ++number_;
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      size_t start = 0;
      while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
      line.erase(0, start);
      if (line.empty() || line[0] == '#') continue;
      return true;
    }
    if (in_.bad()) throw ListError(origin_.string() + ": read error");
    return false;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ListError(origin_.string() + ":" + std::to_string(number_) + ": " + what);
  }
  int line() const { return number_; }

 private:
  fs::path origin_;
  std::istream& in_;
  int number_ = 0;
};

std::ifstream open_list(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw ListError(path.string() + ": cannot open list");
  return in;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool is_hex(std::string_view s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

PdqList parse_pdq(std::istream& in, const ListSpec& spec) {
  ListReader r(in, spec.path);
  PdqList list;
  list.name = spec.name;
  std::vector<Hash256> hashes;
  std::string line;
  while (r.next(line)) {
    const auto f = split(line, ',');
    if (f.size() > 2) r.fail("expected pdq_hex or pdq_hex,id");
    const auto h = Hash256::from_hex(f[0]);
    if (!h) r.fail("not a 64-digit hex PDQ hash: \"" + std::string(f[0]) + "\"");
    hashes.push_back(*h);
    list.ids.push_back(f.size() == 2 ? std::string(f[1]) : std::to_string(r.line()));
  }
  list.index = pdq::HashSearch(std::move(hashes));
  return list;
}

VpdqVideo parse_vpdq_video(std::istream& in, const fs::path& path) {
  ListReader r(in, path);
  VpdqVideo v;
  v.id = path.stem().string();
  std::string line;
  while (r.next(line)) {
    const auto f = split(line, ',');
    if (f.size() != 4) r.fail("expected index,quality,pdq_hex,timestamp");
    const auto h = Hash256::from_hex(f[2]);
    if (!h) r.fail("not a 64-digit hex PDQ hash: \"" + std::string(f[2]) + "\"");
    int quality = 0;
    double ts = 0;
    try {
      size_t used = 0;
      quality = std::stoi(std::string(f[1]), &used);
      if (used != f[1].size() || quality < 0 || quality > 100) throw std::invalid_argument("quality");
      ts = std::stod(std::string(f[3]), &used);
      if (used != f[3].size()) throw std::invalid_argument("timestamp");
      (void)std::stoll(std::string(f[0]));
    } catch (const std::exception&) {
      r.fail("bad index, quality (0..100) or timestamp");
    }
    v.frames.push_back({*h, quality, ts});
  }
  return v;
}

VpdqVideo load_vpdq_video(const fs::path& path) {
  std::ifstream in = open_list(path);
  return parse_vpdq_video(in, path);
}

// Indexes every frame of the list's videos.
void index_frames(VpdqList& list) {
  std::vector<Hash256> hashes;
  for (uint32_t v = 0; v < list.videos.size(); ++v)
    for (uint32_t i = 0; i < list.videos[v].frames.size(); ++i) {
      hashes.push_back(list.videos[v].frames[i].hash);
      list.frame_owner.push_back({v, i});
    }
  list.frames = pdq::HashSearch(std::move(hashes));
}

VpdqList load_vpdq(const ListSpec& spec) {
  VpdqList list;
  list.name = spec.name;
  std::error_code ec;
  if (fs::is_directory(spec.path, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(spec.path))
      if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) list.videos.push_back(load_vpdq_video(f));
  } else {
    list.videos.push_back(load_vpdq_video(spec.path));
  }
  index_frames(list);
  return list;
}

DigestList parse_digests(std::istream& in, const ListSpec& spec) {
  ListReader r(in, spec.path);
  DigestList list;
  list.name = spec.name;
  list.type = spec.type;
  const size_t len = spec.type == ListType::kMd5 ? 32 : 64;
  std::string line;
  while (r.next(line)) {
    const auto f = split(line, ',');
    if (f.size() > 2) r.fail("expected hex or hex,id");
    if (!is_hex(f[0], len))
      r.fail("not a " + std::to_string(len) + "-digit hex " + std::string(list_type_name(spec.type)) + " digest");
    list.ids.emplace(lower(f[0]), f.size() == 2 ? std::string(f[1]) : std::to_string(r.line()));
  }
  return list;
}

}  // namespace

HashLists HashLists::load(const std::vector<ListSpec>& specs) {
  HashLists lists;
  for (const auto& s : specs) {
    if (s.type == ListType::kVpdq) {
      lists.vpdq.push_back(load_vpdq(s));  // a file or a directory of them
      continue;
    }
    std::ifstream in = open_list(s.path);
    lists.add(s, in);
  }
  return lists;
}

HashLists HashLists::parse(const ListSpec& spec, std::istream& text) {
  HashLists lists;
  lists.add(spec, text);
  return lists;
}

void HashLists::add(const ListSpec& spec, std::istream& text) {
  switch (spec.type) {
    case ListType::kPdq: pdq.push_back(parse_pdq(text, spec)); break;
    case ListType::kVpdq: {
      VpdqList list;
      list.name = spec.name;
      list.videos.push_back(parse_vpdq_video(text, spec.path));
      index_frames(list);
      vpdq.push_back(std::move(list));
      break;
    }
    case ListType::kMd5:
    case ListType::kSha256: digests.push_back(parse_digests(text, spec)); break;
  }
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
