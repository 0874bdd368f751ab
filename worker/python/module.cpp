// The `frameprint._native` extension: the same libraries as the programs
// (kernels, media, matching), bound for Python. The Python package
// (worker/python/frameprint/) gives them their public shapes: the
// `pdqhash` and `vpdq` packages' calls, hash_file, lists and exceptions.
//
// Every call that decodes, hashes or loads runs without the GIL. Results
// cross as JSON text (the CLI's own writer) or as numpy arrays built from
// the hash bits; input arrays are read in place, whatever their strides.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "ipc/common/build_info.h"
#include "ipc/common/json_text.h"
#include "kernels/jarosz.h"
#include "kernels/pdq_backend.h"
#include "kernels/pdq_core.h"
#include "kernels/pdq_math.h"
#include "worker/matching/match_options.h"
#include "worker/media/device.h"
#include "worker/media/library_versions.h"
#include "worker/media/media_hasher.h"
#include "worker/media/stills_loader.h"

namespace py = pybind11;

namespace frameprint::python {

namespace {

// ---------------------------------------------------------------------------
// pdqhash: PDQ of an RGB (or grey) uint8 array, the reference's way.

// Float luma of an H x W x C (C >= 3: RGB, further channels ignored) or
// H x W (grey: luma = value) uint8 array, read through its strides.
std::vector<float> luma_of(const py::array& image, int& rows, int& cols) {
  if (!py::isinstance<py::array_t<uint8_t>>(image) ||
      image.dtype().kind() != py::dtype::of<uint8_t>().kind() || image.itemsize() != 1)
    throw py::type_error("image: expected a numpy array of dtype uint8, got " +
                         std::string(py::str(image.dtype())));
  const auto ndim = image.ndim();
  if (ndim != 2 && ndim != 3)
    throw py::value_error("image: expected shape (height, width, 3) or (height, width), got " +
                          std::to_string(ndim) + " dimensions");
  if (ndim == 3 && image.shape(2) < 3)
    throw py::value_error("image: expected at least 3 channels (RGB), got " +
                          std::to_string(image.shape(2)));
  if (image.shape(0) > (1 << 30) || image.shape(1) > (1 << 30))
    throw py::value_error("image: too large");
  rows = static_cast<int>(image.shape(0));
  cols = static_cast<int>(image.shape(1));
  const auto* base = static_cast<const uint8_t*>(image.data());
  const py::ssize_t sy = image.strides(0), sx = image.strides(1);
  const py::ssize_t sc = ndim == 3 ? image.strides(2) : 0;
  std::vector<float> luma(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const uint8_t* p = base + y * sy + x * sx;
      luma[static_cast<size_t>(y) * static_cast<size_t>(cols) + static_cast<size_t>(x)] =
          ndim == 3 ? pdq::luma_from_rgb(p[0], p[sc], p[2 * sc]) : static_cast<float>(p[0]);
    }
  return luma;
}

// The pdqhash package's bit vector: element e is bit 255 - e of the hash,
// so the array reads as the hex string does, most significant bit first.
py::array_t<int64_t> bit_vector(const Hash256& h) {
  py::array_t<int64_t> out(pdq::kHashBits);
  auto v = out.mutable_unchecked<1>();
  for (int e = 0; e < pdq::kHashBits; ++e) v(e) = h.bit(pdq::kHashBits - 1 - e) ? 1 : 0;
  return out;
}

// mode 0: (bits, quality); 1: ([8 x bits], quality); 2: (float coefficients, quality).
py::tuple pdq_from_array(const py::array& image, int mode) {
  int rows = 0, cols = 0;
  std::vector<float> luma = luma_of(image, rows, cols);
  pdq::PdqResult result;
  pdq::Dct16 block{};
  {
    py::gil_scoped_release unlocked;
    std::vector<float> scratch(luma.size());
    if (mode == 2) {
      if (rows >= pdq::kMinHashableDim && cols >= pdq::kMinHashableDim) {
        pdq::Grid64 grid{};
        pdq::jarosz_downsample(luma, scratch, rows, cols, grid);
        result.quality = pdq::quality(grid);
        pdq::dct_64_to_16(grid, block);
      }
    } else {
      result = pdq::hash_float_luma_reference(luma, scratch, rows, cols, mode == 1);
    }
  }
  if (mode == 2) {
    // As the pdqhash package gives it: the block row-major, reversed.
    py::array_t<double> out(pdq::kHashBits);
    auto v = out.mutable_unchecked<1>();
    for (int e = 0; e < pdq::kHashBits; ++e) v(e) = block[pdq::kHashBits - 1 - e];
    return py::make_tuple(out, result.quality);
  }
  if (mode == 1) {
    py::list hashes;
    for (int d = 0; d < pdq::kDihedralCount; ++d)
      hashes.append(bit_vector(d == 0 ? result.hash : result.dihedral[d]));
    return py::make_tuple(hashes, result.quality);
  }
  return py::make_tuple(bit_vector(result.hash), result.quality);
}

// ---------------------------------------------------------------------------
// Hashing files and bytes.

// One device choice and its backends, reused across calls: a CUDA
// backend is costly to make, and each thread hashing at once needs its own.
class Hasher {
 public:
  explicit Hasher(const std::string& device) : choice_(choose_device(device)) {}

  const std::string& device() const { return choice_.name; }
  const std::string& notice() const { return choice_.notice; }

  // A `frameprint hash` JSON line for a file or for bytes; `matcher`
  // adds its matches, as `hash --list` does.
  std::string hash(const std::optional<std::string>& path, std::span<const uint8_t> bytes,
                   const HashOptions& options, const Matcher* matcher) {
    Lease lease(*this);
    const MediaResult r = path ? hash_file(*path, *path, options, lease.backend())
                               : hash_bytes(bytes, "-", options, lease.backend());
    return json_text(result_json(r, matcher));
  }

 private:
  class Lease {
   public:
    explicit Lease(Hasher& owner) : owner_(owner) {
      {
        std::lock_guard lock(owner_.mutex_);
        if (!owner_.idle_.empty()) {
          backend_ = std::move(owner_.idle_.back());
          owner_.idle_.pop_back();
        }
      }
      if (!backend_) backend_ = owner_.choice_.make();
    }
    ~Lease() {
      std::lock_guard lock(owner_.mutex_);
      owner_.idle_.push_back(std::move(backend_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    pdq::PdqBackend& backend() { return *backend_; }

   private:
    Hasher& owner_;
    std::unique_ptr<pdq::PdqBackend> backend_;
  };

  DeviceChoice choice_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pdq::PdqBackend>> idle_;
};

HashOptions hash_options(double seconds_per_hash, bool dihedral, bool exact, int threads,
                         int64_t max_pixels, double max_seconds, bool for_matching) {
  if (!(seconds_per_hash >= 0)) throw py::value_error("seconds_per_hash must be >= 0");
  if (threads < 0 || threads > 64) throw py::value_error("threads must be 0..64");
  HashOptions o;
  o.seconds_per_hash = seconds_per_hash;
  o.dihedral = dihedral;
  o.exact_stills = exact;
  o.decoder_threads = threads;
  if (max_pixels > 0) o.limits.max_pixels = max_pixels;
  if (max_seconds > 0) o.limits.max_seconds = max_seconds;
  o.for_matching = for_matching;
  return o;
}

// ---------------------------------------------------------------------------
// Lists.

class List {
 public:
  List(const std::vector<std::string>& specs, const MatchOptions& options) {
    MatchOptions o = options;
    o.lists = specs;
    matcher_ = load_matcher(o);
    if (!matcher_) throw py::value_error("load_list: no list given");
  }
  const Matcher& matcher() const { return *matcher_; }

  // A result object (JSON text) annotated with "matches" as `frameprint
  // match` does; returns the annotated object's text.
  std::string annotate(const std::string& result_json) const {
    // A result nests four levels; refuse the deep nesting that would
    // overflow the stack when the object is copied or written.
    constexpr int kMaxDepth = 32;
    const auto shallow = [](int depth, nlohmann::ordered_json::parse_event_t,
                            nlohmann::ordered_json&) {
      if (depth > kMaxDepth) throw py::value_error("match: the result nests too deeply");
      return true;
    };
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(result_json, shallow);
    } catch (const nlohmann::json::parse_error& e) {
      throw py::value_error(std::string("match: not a JSON object: ") + e.what());
    }
    if (!j.is_object()) throw py::value_error("match: expected a result object");
    matcher_->annotate(j);
    return json_text(j);
  }

  // One PDQ hash (and/or digests) looked up as a photo would be.
  std::string lookup(const std::optional<std::string>& pdq_hex, int quality,
                     const std::optional<std::string>& md5,
                     const std::optional<std::string>& sha256) const {
    MatchQuery q;
    if (pdq_hex) {
      const auto h = Hash256::from_hex(*pdq_hex);
      if (!h) throw py::value_error("lookup: not a PDQ hash (64 hex digits): " + *pdq_hex);
      q.frames.push_back(MatchQuery::Frame::plain(0, 0, quality, *h));
    }
    if (md5) q.md5 = *md5;
    if (sha256) q.sha256 = *sha256;
    const auto lower = [](std::string& hex) {
      for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    lower(q.md5);
    lower(q.sha256);
    nlohmann::ordered_json out;
    {
      py::gil_scoped_release unlocked;
      out = matcher_->matches(q);
    }
    return json_text(out);
  }

  std::string stats() const {
    auto out = nlohmann::ordered_json::array();
    for (const auto& s : matcher_->stats()) out.push_back(s.to_json());
    return json_text(out);
  }

 private:
  std::shared_ptr<const Matcher> matcher_;
};

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "frameprint's native core (use the frameprint package, not this module)";

  // The libraries log through spdlog, whose default logger writes to
  // standard output: a Python program's output is its own. Warnings and
  // errors go to standard error instead.
  if (!spdlog::get("frameprint")) {
    auto logger = spdlog::stderr_color_mt("frameprint");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);
  }

  // Errors of the media pipeline surface as results; a list that cannot
  // be loaded is a ValueError naming the file and line.
  py::register_exception<ListError>(m, "ListError", PyExc_ValueError);

  m.def("version_text", [] { return version_text("frameprint", media_library_versions()); });
  m.def("stills_module_path", &stills_module_path);

  m.def("pdq_from_array", &pdq_from_array, py::arg("image"), py::arg("mode"));

  py::class_<Hasher>(m, "Hasher")
      .def(py::init([](const std::string& device) {
             try {
               return std::make_unique<Hasher>(device);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("device"))
      .def_property_readonly("device", &Hasher::device)
      .def_property_readonly("notice", &Hasher::notice)
      .def(
          "hash",
          [](Hasher& self, py::object input, bool is_path, double seconds_per_hash, bool dihedral,
             bool exact, int threads, int64_t max_pixels, double max_seconds, const List* list) {
            const HashOptions o = hash_options(seconds_per_hash, dihedral, exact, threads,
                                               max_pixels, max_seconds, list != nullptr);
            const Matcher* matcher = list ? &list->matcher() : nullptr;
            if (is_path) {  // the file system's bytes (os.fsencode)
              const auto path = input.cast<py::bytes>().cast<std::string>();
              py::gil_scoped_release unlocked;
              return self.hash(path, {}, o, matcher);
            }
            // Anything with the buffer protocol (bytes, bytearray, memoryview,
            // a uint8 numpy array), read in place while it is held here.
            const py::buffer buffer = py::reinterpret_borrow<py::buffer>(input);
            const py::buffer_info info = buffer.request();
            if (info.ndim != 1 || info.itemsize != 1 || info.strides[0] != 1)
              throw py::type_error("hash_file: bytes must be one contiguous run of bytes");
            const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(info.ptr),
                                                 static_cast<size_t>(info.size));
            py::gil_scoped_release unlocked;
            return self.hash(std::nullopt, bytes, o, matcher);
          },
          py::arg("input"), py::arg("is_path"), py::arg("seconds_per_hash"), py::arg("dihedral"),
          py::arg("exact"), py::arg("threads"), py::arg("max_pixels"), py::arg("max_seconds"),
          py::arg("list").none(true));

  py::class_<List>(m, "List")
      .def(py::init([](const std::vector<std::string>& specs, int threshold, int min_quality,
                       std::optional<std::string> vpdq_rule, bool allow_empty) {
             MatchOptions o;
             o.rules.threshold = threshold;
             o.rules.min_quality = min_quality;
             o.vpdq_rule = std::move(vpdq_rule);
             o.allow_empty_list = allow_empty;
             py::gil_scoped_release unlocked;
             try {
               return std::make_unique<List>(specs, o);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("specs"), py::arg("threshold"), py::arg("min_quality"), py::arg("vpdq_rule"),
           py::arg("allow_empty"))
      .def("annotate", &List::annotate, py::arg("result_json"),
           py::call_guard<py::gil_scoped_release>())
      .def("lookup", &List::lookup, py::arg("pdq"), py::arg("quality"), py::arg("md5"),
           py::arg("sha256"))
      .def("stats", &List::stats);
}

}  // namespace frameprint::python
