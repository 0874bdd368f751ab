#include "worker/media/stills_loader.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace frameprint {

namespace {

std::string dl_error(const std::string& what) {
  const char* e = dlerror();
  return what + ": " + (e ? e : "unknown error");
}

// RTLD_LOCAL: OpenCV's symbols stay out of the program's namespace.
// RTLD_LAZY: functions are bound on first call, not all ~80,000 at once.
// RTLD_DEEPBIND: the module's ~140 libraries look their symbols up in their
// own tree first instead of through the program's ~140 first (about 50 ms
// of a one-PNG run). It would take interposed symbols away from them, so
// it is left out when anything is preloaded (an allocator replaced through
// LD_PRELOAD must hold for every library) and under sanitizers, which
// refuse it.
// GCC names sanitizer builds with macros, clang with __has_feature.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FP_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FP_SANITIZED 1
#endif

int open_flags() {
  int flags = RTLD_LAZY | RTLD_LOCAL;
#if !defined(FP_SANITIZED)
  const char* preload = std::getenv("LD_PRELOAD");
  if ((!preload || !*preload) && access("/etc/ld.so.preload", F_OK) != 0) flags |= RTLD_DEEPBIND;
#endif
  return flags;
}

}  // namespace

SharedLibrary::SharedLibrary(const std::string& path) {
  handle_ = dlopen(path.c_str(), open_flags());
  if (!handle_) throw std::runtime_error(dl_error("cannot load " + path));
}

SharedLibrary::~SharedLibrary() {
  if (handle_) dlclose(handle_);
}

SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)) {}

SharedLibrary& SharedLibrary::operator=(SharedLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_) dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

void* SharedLibrary::symbol(const char* name) const {
  dlerror();  // clear
  void* p = dlsym(handle_, name);
  if (!p) throw std::runtime_error(dl_error(std::string("no symbol ") + name));
  return p;
}

std::string stills_module_path() {
  if (const char* env = std::getenv("FRAMEPRINT_STILLS_MODULE"); env && *env) return env;
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  // Beside the shared object holding this code, when it is one: the
  // Python extension, wherever the package is installed. The loader's own
  // record is asked, not dladdr's file name, which for the main program is
  // argv[0] (whatever the caller put there); the main program's is empty.
  Dl_info info{};
  link_map* object = nullptr;
  if (dladdr1(reinterpret_cast<const void*>(&stills_module_path), &info,
              reinterpret_cast<void**>(&object), RTLD_DL_LINKMAP) &&
      object && object->l_name && *object->l_name) {
    std::error_code abs_ec;
    const auto so = fs::absolute(object->l_name, abs_ec);
    if (!abs_ec) candidates.push_back(so.parent_path() / stills::kModuleFile);
  }
  // From the running program: lib/ beside bin/ (a build tree, a bundle),
  // then where the packages install it.
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  const auto dir = ec ? fs::path(".") : exe.parent_path();
  candidates.push_back((dir / ".." / "lib" / stills::kModuleFile).lexically_normal());
#ifdef FRAMEPRINT_STILLS_FROM_BIN
  candidates.push_back((dir / FRAMEPRINT_STILLS_FROM_BIN / stills::kModuleFile).lexically_normal());
#endif
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c.string();
  return candidates[candidates.size() > 1 ? 1 : 0].string();
}

namespace {

// The loaded module, or why it could not be loaded. Built once by the
// function-local static below and never changed afterwards.
struct LoadedModule {
  std::optional<SharedLibrary> library;
  const stills::Module* module = nullptr;
  std::string error;

  LoadedModule() {
    const std::string path = stills_module_path();
    try {
      library.emplace(path);
      const auto entry =
          reinterpret_cast<stills::ModuleEntry>(library->symbol(stills::kModuleEntry));
      const stills::Module* m = entry();
      if (!m || m->abi != stills::kModuleAbi || m->request_size != sizeof(stills::ColourRequest) ||
          m->result_size != sizeof(stills::ColourLuma))
        throw std::runtime_error(path + " was built for another version of frameprint");
      module = m;
    } catch (const std::exception& e) {
      library.reset();
      error =
          std::string("still images other than the default JPEG route need the OpenCV module: ") +
          e.what() + " (set FRAMEPRINT_STILLS_MODULE to its path)";
    }
  }
};

}  // namespace

const stills::Module& stills_module() {
  static const LoadedModule loaded;  // C++ guarantees one thread-safe construction
  if (!loaded.module) throw MediaError(ErrorCode::kUnsupportedFormat, loaded.error);
  return *loaded.module;
}

}  // namespace frameprint
