// The OpenAPI 3 document of `frameprint serve`, served at /openapi.json.
// tests/serve checks that every path it names answers and that every path
// the server answers is in it.
#pragma once

#include <string_view>

namespace frameprint::serve {

std::string_view openapi_document();

}  // namespace frameprint::serve
