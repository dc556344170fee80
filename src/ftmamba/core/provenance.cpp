// defines: utc_now and machine_description (see provenance.h).
#include "ftmamba/core/provenance.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "ftmamba/core/device.h"

namespace ftmamba {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string machine_description(c10::Device device) {
  std::string cpu;
  if (std::FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f)) {
      std::string s(line);
      if (s.rfind("model name", 0) == 0) {
        cpu = s.substr(s.find(':') + 2);
        if (!cpu.empty() && cpu.back() == '\n') cpu.pop_back();
        break;
      }
    }
    std::fclose(f);
  }
  const std::string host = fmt::format("{} ({} logical CPUs visible)", cpu.empty() ? "unknown CPU" : cpu,
                                       std::thread::hardware_concurrency());
  return device.is_cuda() ? host + ", GPU " + describe_device(device) : host + ", CPU";
}

}  // namespace ftmamba
