// Reading hash list files safely: bounded in size and line length (a
// hostile list can neither exhaust memory nor end up echoed in an error
// message), tolerant of what editors and other tools leave behind (a UTF-8
// byte order mark, CR LF line ends, surrounding blanks, blank lines, #
// comments), and precise in its errors (file:line).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace frameprint {

class ListError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ListLimits {
  uint64_t max_file_bytes = uint64_t{4} << 30;  // one list file (--max-list-bytes)
  size_t max_line_bytes = size_t{16} << 20;     // one line, or one JSON document
};

// At most `max` characters of `s` for an error message, with anything not
// printable ASCII shown as \xNN and "..." when cut.
std::string snippet(std::string_view s, size_t max = 40);

class ListReader {
 public:
  // Throws ListError when the file cannot be opened or is over the size limit.
  ListReader(const std::filesystem::path& path, const ListLimits& limits);

  // The next line that is not blank or a # comment, trimmed of surrounding
  // blanks and its CR LF / LF end. False at the end of the file.
  bool next(std::string& line);
  // The next line as it is (only the line end removed), blank or not; for
  // formats whose every line counts. False at the end of the file.
  bool next_raw(std::string& line);
  // The rest of the file from the current position, at most
  // max_line_bytes, for formats that are one JSON document.
  std::string rest();

  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_file(const std::string& what) const;
  uint64_t line() const { return number_; }
  const std::filesystem::path& path() const { return path_; }

  bool had_bom() const { return bom_; }
  size_t crlf_lines() const { return crlf_; }

 private:
  bool fill();
  std::filesystem::path path_;
  ListLimits limits_;
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t total_ = 0;
  uint64_t number_ = 0;
  bool eof_ = false;
  bool bom_ = false;
  size_t crlf_ = 0;
};

// Splits one CSV record (RFC 4180 quoting: "a,b" and "" inside quotes), as
// Python's csv module writes it. Throws std::invalid_argument for an
// unterminated quote.
std::vector<std::string> split_csv(std::string_view line);
// Splits on every `sep` (no quoting).
std::vector<std::string_view> split(std::string_view s, char sep);

// Lowercase hex of exactly `len` digits, or empty when `s` is not that.
// `uppercase` is set when any digit was upper case.
std::string normalized_hex(std::string_view s, size_t len, bool* uppercase);

}  // namespace frameprint
