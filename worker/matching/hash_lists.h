// Hash lists as platforms receive them (Take It Down, StopNCII,
// ThreatExchange): PDQ hashes, vPDQ video hash files, MD5 and SHA-256
// digests. Loaded whole or not at all: a malformed line rejects the list
// with its file and line number.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/hash_search.h"
#include "kernels/vpdq_compare.h"

namespace frameprint {

enum class ListType { kPdq, kVpdq, kMd5, kSha256 };
std::string_view list_type_name(ListType t);

// "TYPE:PATH" from the command line; the list's name is the path's stem.
struct ListSpec {
  ListType type;
  std::filesystem::path path;
  std::string name;
};
ListSpec parse_list_spec(const std::string& spec);  // throws std::invalid_argument

class ListError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PdqList {
  std::string name;
  std::vector<std::string> ids;  // per entry
  pdq::HashSearch index;
};

struct VpdqVideo {
  std::string id;
  std::vector<pdq::VpdqFrame> frames;
};

struct VpdqList {
  std::string name;
  std::vector<VpdqVideo> videos;
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
  ListType type;  // kMd5 or kSha256
  std::unordered_multimap<std::string, std::string> ids;  // lowercase hex -> id
};

struct HashLists {
  std::vector<PdqList> pdq;
  std::vector<VpdqList> vpdq;
  std::vector<DigestList> digests;

  bool empty() const { return pdq.empty() && vpdq.empty() && digests.empty(); }
  // Throws ListError naming the file (and line) at fault.
  static HashLists load(const std::vector<ListSpec>& specs);
  // One list read from `text` as if it were the file spec.path (which names
  // it in errors; for vPDQ, `text` is one video's hash file): the same
  // parsers as load(), for lists already in memory (and the fuzz target).
  static HashLists parse(const ListSpec& spec, std::istream& text);
  // Moves every PDQ and vPDQ list's search to CUDA device `device`; lists
  // that cannot go there stay on the CPU. Returns one line per such list
  // (empty when all moved).
  std::vector<std::string> use_gpu(int device);

 private:
  void add(const ListSpec& spec, std::istream& text);  // one list, not a vPDQ directory
};

}  // namespace frameprint
