#include "worker/media/device.h"

#include <stdexcept>

#include "kernels/pdq_cuda.h"

namespace frameprint {

DeviceChoice choose_device(const std::string& device) {
  DeviceChoice c;
  auto cpu = [] { return pdq::make_cpu_backend(); };
  if (device == "cpu") {
    c.make = cpu;
    c.name = "cpu";
    return c;
  }
  int index = 0;
  if (device == "auto" || device == "cuda") {
    index = 0;
  } else if (device.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      index = std::stoi(device.substr(5), &used);
      if (used != device.size() - 5 || index < 0) throw std::invalid_argument(device);
    } catch (const std::exception&) {
      throw std::invalid_argument("--device " + device + ": expected auto, cpu, cuda or cuda:N");
    }
  } else {
    throw std::invalid_argument("--device " + device + ": expected auto, cpu, cuda or cuda:N");
  }
  std::string why;
  const int count = pdq::cuda_device_count(&why);
  if (count > index) {
    pdq::make_cuda_backend(index);  // fails here, once, if the device cannot be used
    c.make = [index] { return pdq::make_cuda_backend(index); };
    c.name = "cuda:" + std::to_string(index);
    c.cuda_device = index;
    c.notice = "hashing on CUDA device " + std::to_string(index);
    return c;
  }
  if (device != "auto") {
    if (count > 0)
      why = std::to_string(count) + " CUDA device(s), no device " + std::to_string(index);
    throw std::runtime_error("--device " + device + ": " + why);
  }
  c.make = cpu;
  c.name = "cpu";
  c.notice = "no usable GPU (" + why + "): hashing on the CPU";
  return c;
}

}  // namespace frameprint
