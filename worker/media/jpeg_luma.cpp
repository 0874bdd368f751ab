#include "worker/media/jpeg_luma.h"

#include <algorithm>
#include <csetjmp>
#include <cstddef>
#include <cstdio>  // jpeglib.h uses FILE and size_t without including them
#include <optional>
#include <string>

#include <jpeglib.h>

#include "worker/media/limits.h"
#include "worker/media/media_error.h"

namespace frameprint {

namespace {

// libjpeg reports a fatal error by calling error_exit, which must not
// return: it jumps back to the setjmp of the step in progress. Warnings
// (corrupt data libjpeg decodes past, as OpenCV lets it) are not printed.
struct ErrorJump {
  jpeg_error_mgr mgr;  // first member: libjpeg holds a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  ErrorCode code = ErrorCode::kDecodeFailed;  // what a jump means
};

// libjpeg's progress monitor, called between rows and scans: stops a
// decode that runs past its deadline.
struct Progress {
  jpeg_progress_mgr mgr;  // first member: libjpeg holds a jpeg_progress_mgr*
  const Deadline* deadline = nullptr;
};

void check_progress(j_common_ptr c) {
  const auto* p = reinterpret_cast<Progress*>(c->progress);
  if (p->deadline && p->deadline->expired()) {
    auto* e = reinterpret_cast<ErrorJump*>(c->err);
    e->code = ErrorCode::kTimeout;
    std::longjmp(e->jump, 1);
  }
}

[[noreturn]] void jump_on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<ErrorJump*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void no_output(j_common_ptr) {}

}  // namespace

// Owns one decompressor. Every call into libjpeg runs inside run(), whose
// setjmp catches libjpeg's errors. The steps handed to run() hold nothing
// with a destructor, so a jump out of them skips no C++ cleanup.
class JpegLumaReader::Decompressor {
 public:
  explicit Decompressor(double max_seconds) {
    progress_.mgr.progress_monitor = check_progress;
    if (max_seconds > 0) {
      deadline_.emplace(max_seconds);
      progress_.deadline = &*deadline_;
    }
    info_.err = jpeg_std_error(&errors_.mgr);
    errors_.mgr.error_exit = jump_on_error;
    errors_.mgr.output_message = no_output;
    errors_.message[0] = '\0';
    created_ = true;  // destroying a half-made decompressor is safe
    run([](j_decompress_ptr c) { jpeg_create_decompress(c); });
    info_.progress = &progress_.mgr;
  }
  ~Decompressor() {
    if (created_) jpeg_destroy_decompress(&info_);
  }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Runs step(&info) and throws MediaError(kDecodeFailed) when libjpeg failed.
  template <typename Step>
  void run(Step step) {
    if (!run_step(step)) {
      if (errors_.code == ErrorCode::kTimeout) deadline_->check();  // throws kTimeout
      throw MediaError(ErrorCode::kDecodeFailed,
                       std::string("cannot decode jpeg image: ") + errors_.message);
    }
  }

  jpeg_decompress_struct& info() { return info_; }

 private:
  template <typename Step>
  bool run_step(Step& step) {
    if (setjmp(errors_.jump)) return false;
    step(&info_);
    return true;
  }

  jpeg_decompress_struct info_{};
  ErrorJump errors_{};
  std::optional<Deadline> deadline_;
  Progress progress_{};
  bool created_ = false;
};

int jpeg_scaled_size(int size, int scale) { return (size + scale - 1) / scale; }

JpegLumaReader::JpegLumaReader(std::span<const uint8_t> bytes, int width, int height, int scale,
                               double max_seconds)
    : d_(std::make_unique<Decompressor>(max_seconds)) {
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
    throw MediaError(ErrorCode::kInternal, "JPEG DCT scale must be 1, 2, 4 or 8");
  d_->run([&](j_decompress_ptr c) {
    jpeg_mem_src(c, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(c, TRUE);
  });
  jpeg_decompress_struct& info = d_->info();
  if (static_cast<int>(info.image_width) != width || static_cast<int>(info.image_height) != height)
    throw MediaError(ErrorCode::kDecodeFailed,
                     "the jpeg image's frame is " + std::to_string(info.image_width) + "x" +
                         std::to_string(info.image_height) + ", not the " + std::to_string(width) +
                         "x" + std::to_string(height) + " its header was read as");
  if (info.num_components != 1 && info.num_components != 3)
    throw MediaError(
        ErrorCode::kDecodeFailed,
        "a jpeg image of " + std::to_string(info.num_components) + " components has no luma plane");
  info.out_color_space = JCS_GRAYSCALE;  // Y as stored; from RGB files, libjpeg computes it
  info.scale_num = 1;
  info.scale_denom = static_cast<unsigned int>(scale);
  info.dct_method = JDCT_ISLOW;  // libjpeg's default, OpenCV's too
  d_->run([](j_decompress_ptr c) { jpeg_start_decompress(c); });
  width_ = jpeg_scaled_size(width, scale);
  height_ = jpeg_scaled_size(height, scale);
  if (static_cast<int>(info.output_width) != width_ ||
      static_cast<int>(info.output_height) != height_ || info.output_components != 1)
    throw MediaError(ErrorCode::kInternal, "libjpeg scaled the picture to an unexpected size");
}

JpegLumaReader::~JpegLumaReader() = default;

int JpegLumaReader::next_row() const { return static_cast<int>(d_->info().output_scanline); }

int JpegLumaReader::read(std::span<uint8_t> out) {
  const auto pitch = static_cast<size_t>(width_);
  const JDIMENSION left = static_cast<JDIMENSION>(height_) - d_->info().output_scanline;
  const auto want =
      static_cast<JDIMENSION>(std::min<size_t>({out.size() / pitch, size_t{16}, size_t{left}}));
  if (want == 0) {
    if (left > 0) throw MediaError(ErrorCode::kInternal, "JPEG row buffer smaller than a row");
    return 0;
  }
  JSAMPROW rows[16];
  for (JDIMENSION k = 0; k < want; ++k) rows[k] = out.data() + pitch * k;
  JDIMENSION got = 0;
  d_->run([&rows, want, &got](j_decompress_ptr c) { got = jpeg_read_scanlines(c, rows, want); });
  // A memory source never suspends: libjpeg pads a short stream itself.
  if (got == 0)
    throw MediaError(ErrorCode::kDecodeFailed, "cannot decode jpeg image: no rows decoded");
  return static_cast<int>(got);
}

void JpegLumaReader::finish() {
  d_->run([](j_decompress_ptr c) { jpeg_finish_decompress(c); });
}

}  // namespace frameprint
