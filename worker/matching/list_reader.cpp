#include "worker/matching/list_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace frameprint {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 1 << 16;
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::string snippet(std::string_view s, size_t max) {
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

ListReader::ListReader(const fs::path& path, const ListLimits& limits)
    : path_(path), limits_(limits) {
  file_.reset(std::fopen(path.c_str(), "rb"));
  if (!file_) throw ListError(path.string() + ": cannot open list: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(::fileno(file_.get()), &st) != 0)
    throw ListError(path.string() + ": cannot stat list: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ListError(path.string() + ": is a directory");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > limits_.max_file_bytes)
    fail_file("the list has " + std::to_string(st.st_size) + " bytes, more than the limit of " +
              std::to_string(limits_.max_file_bytes) + " (--max-list-bytes)");
  buf_.resize(kChunk);
}

void ListReader::fail(const std::string& what) const {
  throw ListError(path_.string() + ":" + std::to_string(number_) + ": " + what);
}

void ListReader::fail_file(const std::string& what) const {
  throw ListError(path_.string() + ": " + what);
}

bool ListReader::fill() {
  if (eof_) return false;
  const size_t n = std::fread(buf_.data(), 1, buf_.size(), file_.get());
  if (n == 0) {
    if (std::ferror(file_.get())) fail_file("read error");
    eof_ = true;
    return false;
  }
  total_ += n;
  if (total_ > limits_.max_file_bytes)  // a file that grew, or not a regular file
    fail_file("the list has more than " + std::to_string(limits_.max_file_bytes) +
              " bytes (--max-list-bytes)");
  pos_ = 0;
  end_ = n;
  return true;
}

bool ListReader::next_raw(std::string& line) {
  line.clear();
  if (pos_ == end_ && !fill()) return false;
  ++number_;
  for (;;) {
    const char* start = buf_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const size_t take = nl ? static_cast<size_t>(nl - start) : end_ - pos_;
    if (line.size() + take > limits_.max_line_bytes)
      fail("line longer than " + std::to_string(limits_.max_line_bytes) +
           " bytes; not read further");
    line.append(start, take);
    pos_ += take;
    if (nl) {
      ++pos_;
      break;
    }
    if (!fill()) break;  // the last line has no line end
  }
  if (number_ == 1 && line.starts_with(kBom)) {
    line.erase(0, kBom.size());
    bom_ = true;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
    ++crlf_;
  }
  return true;
}

bool ListReader::next(std::string& line) {
  while (next_raw(line)) {
    size_t b = 0, e = line.size();
    while (b < e && blank(line[b])) ++b;
    while (e > b && blank(line[e - 1])) --e;
    if (b == e || line[b] == '#') continue;
    line = line.substr(b, e - b);
    return true;
  }
  return false;
}

std::string ListReader::rest() {
  std::string out;
  if (number_ == 0) ++number_;
  for (;;) {
    if (pos_ == end_ && !fill()) break;
    if (out.size() + (end_ - pos_) > limits_.max_line_bytes)
      fail_file("a JSON list longer than " + std::to_string(limits_.max_line_bytes) +
                " bytes; not read further");
    out.append(buf_.data() + pos_, end_ - pos_);
    pos_ = end_;
  }
  if (number_ == 1 && out.starts_with(kBom)) {
    out.erase(0, kBom.size());
    bom_ = true;
  }
  return out;
}

std::vector<std::string> split_csv(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) throw std::invalid_argument("a quoted field has no closing quote");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',')
        throw std::invalid_argument("text after a closing quote");
    } else {
      const size_t comma = line.find(',', i);
      const size_t stop = comma == std::string_view::npos ? line.size() : comma;
      field.assign(line.substr(i, stop - i));
      i = stop;
    }
    out.push_back(field);
    if (i >= line.size()) return out;
    ++i;  // the comma
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string normalized_hex(std::string_view s, size_t len, bool* uppercase) {
  if (s.size() != len) return {};
  std::string out(s);
  bool upper = false;
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
      upper = true;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return {};
    }
  }
  if (uppercase) *uppercase = upper;
  return out;
}

}  // namespace frameprint
