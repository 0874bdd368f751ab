// Every program's main runs through this: no exception may abort the
// process (and with it a batch or a pool's jobs in hand). Anything that
// escapes is reported and the program exits 1.
#pragma once

#include <cstdio>
#include <exception>

namespace frameprint {

template <typename Main>
int guarded_main(int argc, char** argv, Main&& body) {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", argv[0]);
  }
  return 1;
}

}  // namespace frameprint
