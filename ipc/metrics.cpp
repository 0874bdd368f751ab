#include "ipc/metrics.h"

#include <prometheus/exposer.h>

#include <stdexcept>

namespace frameprint {

MetricsEndpoint::MetricsEndpoint(const std::string& bind)
    : registry_(std::make_shared<prometheus::Registry>()) {
  if (bind.empty()) return;
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind);
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
prometheus::Histogram& MetricsEndpoint::histogram(const std::string& name, const std::string& help,
                                                  const prometheus::Histogram::BucketBoundaries& b) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_).Add({}, b);
}

prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
}

}  // namespace frameprint
