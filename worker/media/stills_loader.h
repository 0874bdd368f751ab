// Loads libframeprint_stills.so (stills_module.h) the first time a still
// image needs OpenCV.
#pragma once

#include <string>

#include "worker/media/stills_module.h"

namespace frameprint {

// A shared object opened with dlopen, closed when the owner goes.
class SharedLibrary {
 public:
  // Throws std::runtime_error with dlerror()'s message.
  explicit SharedLibrary(const std::string& path);
  ~SharedLibrary();
  SharedLibrary(SharedLibrary&& other) noexcept;
  SharedLibrary& operator=(SharedLibrary&& other) noexcept;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of `name`; throws std::runtime_error when it is absent.
  void* symbol(const char* name) const;

 private:
  void* handle_ = nullptr;
};

// Where the module is looked for: $FRAMEPRINT_STILLS_MODULE when set, else
// the first that exists of: beside the shared object holding this code
// (the Python extension, wherever its package is installed); lib/ beside
// the running program's directory (build/bin/frameprint -> build/lib/; a
// bundle's bin/ and lib/ alike); where the packages install it, relative
// to the program's directory (/usr/bin -> /usr/lib/.../frameprint/).
std::string stills_module_path();

// The process's module, loaded on the first call (thread-safe) and kept
// until exit: after that first call it is only read. Throws MediaError
// (kUnsupportedFormat, naming the file and why) when it cannot be loaded;
// every later call throws the same.
const stills::Module& stills_module();

}  // namespace frameprint
