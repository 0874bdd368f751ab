#include "worker/media/media_error.h"

namespace frameprint {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kEmptyFile: return "empty_file";
    case ErrorCode::kUnsupportedFormat: return "unsupported_format";
    case ErrorCode::kDecodeFailed: return "decode_failed";
    case ErrorCode::kTruncated: return "truncated";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kNoVideoStream: return "no_video_stream";
    case ErrorCode::kNoFrames: return "no_frames";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kPathNotAllowed: return "path_not_allowed";
    case ErrorCode::kUrlNotAllowed: return "url_not_allowed";
    case ErrorCode::kFetchFailed: return "fetch_failed";
    case ErrorCode::kDecoderCrashed: return "decoder_crashed";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace frameprint
