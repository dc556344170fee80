// defines: run_binary, which runs the ftmamba binary under test (FTMAMBA_BINARY) with arguments and returns
// its exit code and its stdout and stderr together; shared by the tests that drive the CLI.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ftmamba_test {

struct BinaryResult {
  int code;
  std::string out;  // stdout and stderr together
};

inline BinaryResult run_binary(const std::string& args) {
  const std::string cmd = std::string(FTMAMBA_BINARY) + " " + args + " 2>&1";
  BinaryResult r{0, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace ftmamba_test
