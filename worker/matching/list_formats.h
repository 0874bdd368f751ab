// The list formats of the hash-sharing ecosystem, read row by row
// (docs/output.md "List formats", docs/interop.md):
//   plain       `hex` or `hex,id`
//   te          `SIGNAL_TYPE SIGNAL` lines: the threatexchange CLI's `hash`
//               output and its local-file collaborations (`pdq <hex>`,
//               `video_md5 <hex>`, `vpdq <json>`)
//   te-csv      `threatexchange dataset -P --csv`: a header, then
//               signal_type,signal_str,collab,category,tags
//   pdq-hasher  pdq-photo-hasher's `hash,quality,filename` and its
//               `hash=HEX,...,quality=Q,filename=F` (-d) lines
//   vpdq        one video per file: the reference's
//               `index,quality,hex,timestamp` or the vpdq Python package's
//               `hex,quality,timestamp` lines
//   vpdq-json   one video per file: python-threatexchange's JSON array of
//               "hex,quality,timestamp" strings (its older frame-number
//               object too), or Hasher-Matcher-Actioner's
//               {"SIGNAL_TYPE": "SIGNAL", ...} hash object
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/hash256.h"
#include "kernels/vpdq_compare.h"
#include "worker/matching/list_reader.h"

namespace frameprint {

enum class ListType { kPdq, kVpdq, kMd5, kSha1, kSha256 };
std::string_view list_type_name(ListType t);
// Our names and the threatexchange CLI's: pdq, vpdq, md5, video_md5, sha1,
// sha256, video_sha256. nullopt for any other.
std::optional<ListType> list_type_from_name(std::string_view name);

enum class ListFormat { kAuto, kPlain, kTe, kTeCsv, kPdqHasher, kVpdq, kVpdqJson };
std::string_view list_format_name(ListFormat f);
std::optional<ListFormat> list_format_from_name(std::string_view name);

// What a list says about an entry beyond its hash and id: a collaboration,
// a category and tags (threatexchange's dataset CSV).
struct EntryMeta {
  std::string collab;
  std::string category;
  std::vector<std::string> tags;
  bool empty() const { return collab.empty() && category.empty() && tags.empty(); }
  friend bool operator==(const EntryMeta&, const EntryMeta&) = default;
};

struct EntryInfo {
  std::string id;  // empty: the row's line number is its id
  uint64_t line = 0;
  int quality = -1;   // -1: the list gives none
  uint32_t meta = 0;  // into the list's metadata table; 0: none
  // The id a match reports: the list's own, else LIST:LINE (unique across lists).
  std::string id_text(std::string_view list) const {
    return id.empty() ? std::string(list) + ":" + std::to_string(line) : id;
  }
};

// One entry as read, before lists are built.
struct ListRow {
  std::optional<ListType> type;  // nullopt: a signal type not matched here
  std::string digest;            // md5/sha1/sha256: lowercase hex
  Hash256 pdq;
  std::vector<pdq::VpdqFrame> frames;  // vpdq
  int quality = -1;
  std::string id;  // empty: the line number
  uint64_t line = 0;
  EntryMeta meta;
  bool uppercase = false;  // hex digits were upper case
};

// One signal as the ecosystem's APIs pass it (HMA's `signal`, the te
// format's second field): a PDQ hex hash, a hex digest of the type's
// length, or for vPDQ python-threatexchange's JSON list of
// "hex,quality,timestamp" strings. Digests come back in lower case in
// `digest`. Throws std::invalid_argument saying what is wrong.
ListRow parse_signal(ListType type, std::string_view signal);

// Reads every row of the reader's file in `format` (kAuto: detected from
// the first line). `want` is the type the caller asked for, which decides
// what untyped lines hold; without it untyped lines must show their type
// (e.g. by length: 32 hex digits are MD5). `stem` names whole-file vPDQ
// videos. Returns the format read. Throws ListError with file:line.
ListFormat read_list_rows(ListReader& reader, std::optional<ListType> want, ListFormat format,
                          const std::string& stem, const std::function<void(ListRow&&)>& sink);

}  // namespace frameprint
