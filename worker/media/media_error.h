// Errors inside the hashing pipeline. Components throw MediaError with a
// stable code; the boundary (CLI line, worker reply) turns it into
// {"status":"error","error":{"code":..., "message":...}}.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace frameprint {

enum class ErrorCode {
  kIoError,            // the file could not be opened or read
  kEmptyFile,          // zero bytes
  kUnsupportedFormat,  // not an image or media container we can decode
  kDecodeFailed,       // recognised, but the decoder failed
  kTruncated,          // the file ends before its data does
  kTooLarge,           // over --max-pixels / --max-frames (or similar limits)
  kTimeout,            // decoding took longer than --max-seconds
  kNoVideoStream,      // a media file with audio (or other streams) but no video
  kNoFrames,           // a video stream from which no frame could be decoded
  kBadRequest,         // a job header that is not valid (worker)
  kPathNotAllowed,     // a job path outside every --allow-root (worker)
  kUrlNotAllowed,      // a job URL the worker's fetch policy refuses (worker)
  kFetchFailed,        // a job URL's server failed, answered an error or was too slow (worker)
  kDecoderCrashed,     // the confined decoder process died on this input (worker)
  kInternal,           // a bug or resource failure, not the input's fault
};

// The stable, documented name of a code ("decode_failed", ...).
std::string_view error_code_name(ErrorCode code);

class MediaError : public std::runtime_error {
 public:
  MediaError(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace frameprint
