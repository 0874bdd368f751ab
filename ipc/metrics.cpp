#include "ipc/metrics.h"

#include <prometheus/exposer.h>

#include <stdexcept>
#include <vector>

namespace frameprint {

MetricsEndpoint::MetricsEndpoint(const std::string& bind)
    : registry_(std::make_shared<prometheus::Registry>()) {
  if (bind.empty()) return;
  try {
    // Idle or slow connections must not stall the endpoint: enough threads
    // for a few scrapers and stragglers, and a time limit on each request
    // (civetweb's defaults are 2 threads with no time limit).
    exposer_ = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", bind, "num_threads", "8", "request_timeout_ms",
                                 "3000", "enable_keep_alive", "no"});
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics on " + bind + ": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
}

MetricsEndpoint::~MetricsEndpoint() = default;

prometheus::Counter& MetricsEndpoint::counter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_).Add({});
}
prometheus::Gauge& MetricsEndpoint::gauge(const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
}
prometheus::Histogram& MetricsEndpoint::histogram(
    const std::string& name, const std::string& help,
    const prometheus::Histogram::BucketBoundaries& b) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_).Add({}, b);
}

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1,     2.5,    5,     10,   30,    60,   120, 300,  600};
}

}  // namespace frameprint
