#include "worker/matching/list_formats.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace frameprint {

std::string_view list_type_name(ListType t) {
  switch (t) {
    case ListType::kPdq: return "pdq";
    case ListType::kVpdq: return "vpdq";
    case ListType::kMd5: return "md5";
    case ListType::kSha1: return "sha1";
    case ListType::kSha256: return "sha256";
  }
  return "pdq";
}

std::optional<ListType> list_type_from_name(std::string_view n) {
  if (n == "pdq") return ListType::kPdq;
  if (n == "vpdq") return ListType::kVpdq;
  if (n == "md5" || n == "video_md5") return ListType::kMd5;
  if (n == "sha1") return ListType::kSha1;
  if (n == "sha256" || n == "video_sha256") return ListType::kSha256;
  return std::nullopt;
}

std::string_view list_format_name(ListFormat f) {
  switch (f) {
    case ListFormat::kAuto: return "auto";
    case ListFormat::kPlain: return "plain";
    case ListFormat::kTe: return "te";
    case ListFormat::kTeCsv: return "te-csv";
    case ListFormat::kPdqHasher: return "pdq-hasher";
    case ListFormat::kVpdq: return "vpdq";
    case ListFormat::kVpdqJson: return "vpdq-json";
  }
  return "auto";
}

std::optional<ListFormat> list_format_from_name(std::string_view n) {
  for (auto f : {ListFormat::kAuto, ListFormat::kPlain, ListFormat::kTe, ListFormat::kTeCsv,
                 ListFormat::kPdqHasher, ListFormat::kVpdq, ListFormat::kVpdqJson})
    if (n == list_format_name(f)) return f;
  return std::nullopt;
}

namespace {

using nlohmann::json;

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  s = trim(s);
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> parse_quality(std::string_view s) {
  const auto q = parse_number<int>(s);
  if (!q || *q < 0 || *q > 100) return std::nullopt;
  return q;
}

bool has_upper_hex(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'F'; });
}

bool is_type_token(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

size_t digest_length(ListType t) {
  return t == ListType::kMd5 ? 32 : t == ListType::kSha1 ? 40 : 64;
}

// Reads one list file's rows in one format.
class RowReader {
 public:
  RowReader(ListReader& r, std::optional<ListType> want, const std::string& stem,
            const std::function<void(ListRow&&)>& sink)
      : r_(r), want_(want), stem_(stem), sink_(sink) {}

  ListFormat run(ListFormat format) {
    std::string line;
    if (!r_.next(line)) return format;
    if (format == ListFormat::kAuto) format = detect(line);
    switch (format) {
      case ListFormat::kVpdqJson: vpdq_json(line + "\n" + r_.rest()); return format;
      case ListFormat::kVpdq: vpdq_text(line); return format;
      case ListFormat::kTeCsv: te_csv(line); return format;
      default: break;
    }
    do {
      ListRow row;
      row.line = r_.line();
      if (format == ListFormat::kPlain) plain(line, row);
      else if (format == ListFormat::kTe) te(line, row);
      else pdq_hasher(line, row);
      sink_(std::move(row));
    } while (r_.next(line));
    return format;
  }

 private:
  ListFormat detect(std::string_view first) const {
    if (first.starts_with("signal_type,")) return ListFormat::kTeCsv;
    if (first[0] == '[' || first[0] == '{') return ListFormat::kVpdqJson;
    if (first.starts_with("hash=")) return ListFormat::kPdqHasher;
    const size_t blank = first.find_first_of(" \t");
    if (blank != std::string_view::npos && is_type_token(first.substr(0, blank)))
      return ListFormat::kTe;
    const auto fields = split(first, ',');
    const auto is_hash = [](std::string_view s) { return Hash256::from_hex(trim(s)).has_value(); };
    if (fields.size() >= 3 && is_hash(fields[0]) && parse_quality(fields[1])) {
      // hex,quality,timestamp (the vpdq package) or hex,quality,filename
      // (pdq-photo-hasher; the name may hold commas): the asked type
      // decides, else whether the rest is a number.
      if (fields.size() == 3 && want_ == ListType::kVpdq) return ListFormat::kVpdq;
      if (fields.size() == 3 && !want_ && parse_number<double>(fields[2])) return ListFormat::kVpdq;
      return ListFormat::kPdqHasher;
    }
    if (fields.size() == 4 && parse_number<int64_t>(fields[0]) && is_hash(fields[2]))
      return ListFormat::kVpdq;
    if (fields.size() <= 2) return ListFormat::kPlain;
    r_.fail("not a line of any list format frameprint reads: \"" + snippet(first) +
            "\" (name the format: TYPE:FORMAT:PATH)");
  }

  void pdq_hash(std::string_view hex, ListRow& row) {
    const auto h = Hash256::from_hex(hex);
    if (!h) r_.fail("not a 64-digit hex PDQ hash: \"" + snippet(hex) + "\"");
    row.pdq = *h;
    row.uppercase = has_upper_hex(hex);
  }

  void digest(ListType t, std::string_view hex, ListRow& row) {
    row.digest = normalized_hex(hex, digest_length(t), &row.uppercase);
    if (row.digest.empty())
      r_.fail("not a " + std::to_string(digest_length(t)) + "-digit hex " +
              std::string(list_type_name(t)) + " digest: \"" + snippet(hex) + "\"");
  }

  // "hex,quality,timestamp", as python-threatexchange and the vpdq package write a frame.
  pdq::VpdqFrame feature(std::string_view s, ListRow& row) {
    const auto f = split(s, ',');
    if (f.size() != 3)
      r_.fail("a vPDQ frame is \"hex,quality,timestamp\", not \"" + snippet(s) + "\"");
    return frame(f[0], f[1], f[2], row);
  }

  pdq::VpdqFrame frame(std::string_view hex, std::string_view quality, std::string_view ts,
                       ListRow& row) {
    const auto h = Hash256::from_hex(trim(hex));
    if (!h) r_.fail("not a 64-digit hex PDQ hash: \"" + snippet(hex) + "\"");
    row.uppercase |= has_upper_hex(hex);
    const auto q = parse_quality(quality);
    const auto t = parse_number<double>(ts);
    if (!q || !t || *t < 0) r_.fail("bad quality (0..100) or timestamp in a vPDQ frame");
    return {*h, *q, *t};
  }

  void frames_from_json(const json& j, ListRow& row) {
    if (j.is_array()) {
      for (const auto& f : j) {
        if (!f.is_string()) r_.fail("a vPDQ JSON list holds \"hex,quality,timestamp\" strings");
        row.frames.push_back(feature(f.get_ref<const std::string&>(), row));
      }
      return;
    }
    // python-threatexchange's older form: {"0": {"quality":..., "hash":..., "timestamp":...}, ...}
    if (j.is_object()) {
      std::map<int64_t, pdq::VpdqFrame> by_number;
      for (const auto& [key, f] : j.items()) {
        const auto n = parse_number<int64_t>(key);
        if (!n || !f.is_object() || !f.contains("hash") || !f["hash"].is_string() ||
            !f.contains("quality") || !f["quality"].is_number_integer() ||
            !f.contains("timestamp") || !f["timestamp"].is_number())
          r_.fail(
              "a vPDQ JSON object maps frame numbers to {\"quality\", \"hash\", \"timestamp\"}");
        by_number[*n] = frame(f["hash"].get_ref<const std::string&>(),
                              std::to_string(f["quality"].get<int64_t>()),
                              std::to_string(f["timestamp"].get<double>()), row);
      }
      for (auto& [n, f] : by_number) row.frames.push_back(f);
      return;
    }
    r_.fail("not a vPDQ JSON list");
  }

  // A signal of a known type as text (te lines, te-csv rows, HMA objects).
  void signal(ListType t, std::string_view s, ListRow& row) {
    row.type = t;
    if (t == ListType::kPdq) return pdq_hash(s, row);
    if (t != ListType::kVpdq) return digest(t, s, row);
    const json j = json::parse(s, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      r_.fail("a vpdq signal is a JSON list of \"hex,quality,timestamp\" strings");
    frames_from_json(j, row);
  }

  void plain(std::string_view line, ListRow& row) {
    const auto f = split(line, ',');
    if (f.size() > 2) r_.fail("expected hex or hex,id");
    if (f.size() == 2) row.id = std::string(trim(f[1]));
    const std::string_view hex = trim(f[0]);
    std::optional<ListType> t = want_;
    if (t == ListType::kVpdq)
      r_.fail("a vPDQ list is a vPDQ text or JSON file, not \"hex,id\" lines");
    if (!t) {
      if (hex.size() == 32) t = ListType::kMd5;
      else if (hex.size() == 40) t = ListType::kSha1;
      else if (hex.size() == 64)
        r_.fail(
            "64 hex digits may be a PDQ hash or a SHA-256 digest: name the list's type (pdq:PATH "
            "or sha256:PATH)");
      else r_.fail("not a hex hash or digest: \"" + snippet(hex) + "\"");
    }
    signal(*t, hex, row);
  }

  void te(std::string_view line, ListRow& row) {
    const size_t blank = line.find_first_of(" \t");
    if (blank == std::string_view::npos || !is_type_token(line.substr(0, blank)))
      r_.fail("expected SIGNAL_TYPE SIGNAL, got \"" + snippet(line) + "\"");
    const auto t = list_type_from_name(line.substr(0, blank));
    if (!t) return;  // a signal type not matched here (raw_text, url, ...): counted, skipped
    signal(*t, trim(line.substr(blank)), row);
  }

  void te_csv(std::string_view header_line) {
    std::vector<std::string> header;
    try {
      header = split_csv(header_line);
    } catch (const std::invalid_argument& e) {
      r_.fail(e.what());
    }
    auto column = [&](std::string_view name) -> std::optional<size_t> {
      const auto it = std::find(header.begin(), header.end(), name);
      return it == header.end() ? std::nullopt
                                : std::optional<size_t>(static_cast<size_t>(it - header.begin()));
    };
    const auto type_col = column("signal_type"), signal_col = column("signal_str");
    const auto collab_col = column("collab"), category_col = column("category"),
               tags_col = column("tags");
    if (!type_col || !signal_col)
      r_.fail("a threatexchange dataset CSV begins with the header signal_type,signal_str,...");
    std::string line;
    while (r_.next(line)) {
      std::vector<std::string> f;
      try {
        f = split_csv(line);
      } catch (const std::invalid_argument& e) {
        r_.fail(e.what());
      }
      if (f.size() != header.size())
        r_.fail("expected " + std::to_string(header.size()) + " fields as in the header, found " +
                std::to_string(f.size()));
      ListRow row;
      row.line = r_.line();
      if (collab_col) row.meta.collab = f[*collab_col];
      if (category_col) row.meta.category = f[*category_col];
      if (tags_col)
        for (const auto tag : split(f[*tags_col], ' '))
          if (!tag.empty()) row.meta.tags.emplace_back(tag);
      const std::string& type_name = f[*type_col];
      if (!is_type_token(type_name)) r_.fail("not a signal type: \"" + snippet(type_name) + "\"");
      if (const auto t = list_type_from_name(type_name)) signal(*t, trim(f[*signal_col]), row);
      sink_(std::move(row));
    }
  }

  void pdq_hasher(std::string_view line, ListRow& row) {
    row.type = ListType::kPdq;
    if (line.starts_with("hash=")) {
      // hash=HEX,norm=N,delta=D,quality=Q,filename=F (the file name last, commas and all)
      std::string_view fields = line;
      const size_t name_at = line.find(",filename=");
      if (name_at != std::string_view::npos) {
        row.id = std::string(line.substr(name_at + 10));
        fields = line.substr(0, name_at);
      }
      for (const auto kv : split(fields, ',')) {
        const size_t eq = kv.find('=');
        if (eq == std::string_view::npos) r_.fail("expected key=value fields after hash=");
        const auto key = kv.substr(0, eq), value = kv.substr(eq + 1);
        if (key == "hash") pdq_hash(value, row);
        if (key == "quality") {
          const auto q = parse_quality(value);
          if (!q) r_.fail("bad quality (0..100): \"" + snippet(value) + "\"");
          row.quality = *q;
        }
      }
      return;
    }
    const size_t c1 = line.find(','),
                 c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string_view::npos) r_.fail("expected hash,quality,filename");
    pdq_hash(line.substr(0, c1), row);
    const auto q = parse_quality(line.substr(c1 + 1, c2 - c1 - 1));
    if (!q) r_.fail("bad quality (0..100): \"" + snippet(line.substr(c1 + 1, c2 - c1 - 1)) + "\"");
    row.quality = *q;
    row.id = std::string(line.substr(c2 + 1));
  }

  void vpdq_text(std::string line) {
    ListRow row;
    row.type = ListType::kVpdq;
    row.line = r_.line();
    row.id = stem_;
    const size_t n = split(line, ',').size();
    if (n != 3 && n != 4)
      r_.fail(
          "expected index,quality,pdq_hex,timestamp (or the vpdq package's "
          "pdq_hex,quality,timestamp)");
    do {
      const auto f = split(line, ',');
      if (f.size() != n)
        r_.fail(n == 4 ? "expected index,quality,pdq_hex,timestamp"
                       : "expected pdq_hex,quality,timestamp");
      if (n == 4) {
        if (!parse_number<int64_t>(f[0])) r_.fail("bad index, quality (0..100) or timestamp");
        row.frames.push_back(frame(f[2], f[1], f[3], row));
      } else {
        row.frames.push_back(frame(f[0], f[1], f[2], row));
      }
    } while (r_.next(line));
    sink_(std::move(row));
  }

  void vpdq_json(const std::string& text) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) r_.fail_file("not valid JSON");
    ListRow row;
    row.line = 1;
    row.id = stem_;
    const bool frame_numbers = j.is_object() && !j.empty() &&
                               std::all_of(j.items().begin(), j.items().end(), [](const auto& kv) {
                                 return parse_number<int64_t>(kv.key()).has_value();
                               });
    if (j.is_array() || frame_numbers) {
      row.type = ListType::kVpdq;
      frames_from_json(j, row);
      sink_(std::move(row));
      return;
    }
    if (!j.is_object())
      r_.fail_file("a vPDQ JSON list is an array of \"hex,quality,timestamp\" strings");
    // Hasher-Matcher-Actioner's hash object: {"pdq": "...", "video_md5": "...", "vpdq": "[...]"}.
    for (const auto& [key, value] : j.items()) {
      ListRow r;
      r.line = 1;
      r.id = stem_;
      if (const auto t = list_type_from_name(key)) {
        if (*t == ListType::kVpdq && value.is_array()) {
          r.type = *t;
          frames_from_json(value, r);
        } else if (value.is_string()) {
          signal(*t, value.get_ref<const std::string&>(), r);
        } else {
          r_.fail_file("the value of \"" + snippet(key) + "\" is not a signal string");
        }
      }
      sink_(std::move(r));
    }
  }

  ListReader& r_;
  std::optional<ListType> want_;
  const std::string& stem_;
  const std::function<void(ListRow&&)>& sink_;
};

}  // namespace

ListRow parse_signal(ListType type, std::string_view signal) {
  ListRow row;
  row.type = type;
  const std::string_view s = trim(signal);
  const auto bad = [&](const std::string& what) {
    throw std::invalid_argument(what + ": \"" + snippet(s) + "\"");
  };
  if (type == ListType::kPdq) {
    const auto h = Hash256::from_hex(s);
    if (!h) bad("not a 64-digit hex PDQ hash");
    row.pdq = *h;
    return row;
  }
  if (type != ListType::kVpdq) {
    const size_t len = digest_length(type);
    row.digest = normalized_hex(s, len, &row.uppercase);
    if (row.digest.empty())
      bad("not a " + std::to_string(len) + "-digit hex " + std::string(list_type_name(type)) +
          " digest");
    return row;
  }
  if (s.size() > ListLimits{}.max_line_bytes) bad("a vpdq signal over 16 MiB");
  const json j = json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty())
    bad("a vpdq signal is a JSON list of \"hex,quality,timestamp\" strings");
  for (const auto& f : j) {
    if (!f.is_string()) bad("a vpdq signal is a JSON list of \"hex,quality,timestamp\" strings");
    const auto parts = split(f.get_ref<const std::string&>(), ',');
    const auto h = parts.size() == 3 ? Hash256::from_hex(trim(parts[0])) : std::nullopt;
    const auto q = parts.size() == 3 ? parse_quality(parts[1]) : std::nullopt;
    const auto t = parts.size() == 3 ? parse_number<double>(parts[2]) : std::nullopt;
    if (!h || !q || !t || *t < 0)
      bad("a vPDQ frame is \"hex,quality,timestamp\" (quality 0..100, timestamp >= 0)");
    row.frames.push_back({*h, *q, *t});
  }
  return row;
}

ListFormat read_list_rows(ListReader& reader, std::optional<ListType> want, ListFormat format,
                          const std::string& stem, const std::function<void(ListRow&&)>& sink) {
  return RowReader(reader, want, stem, sink).run(format);
}

}  // namespace frameprint
