// Prometheus metrics: a registry that is always there (so code can count
// unconditionally) and an HTTP endpoint serving it when an address is given.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace prometheus {
class Exposer;
}

namespace frameprint {

class MetricsEndpoint {
 public:
  // bind: "HOST:PORT", or empty for no endpoint. Throws std::runtime_error
  // when the address cannot be bound.
  explicit MetricsEndpoint(const std::string& bind);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  prometheus::Registry& registry() { return *registry_; }

  prometheus::Counter& counter(const std::string& name, const std::string& help);
  prometheus::Gauge& gauge(const std::string& name, const std::string& help);
  prometheus::Histogram& histogram(const std::string& name, const std::string& help,
                                   const prometheus::Histogram::BucketBoundaries& buckets);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Latency buckets from 1 ms to about 10 min, in seconds.
prometheus::Histogram::BucketBoundaries latency_buckets();

}  // namespace frameprint
