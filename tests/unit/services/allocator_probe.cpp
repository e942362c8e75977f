// A program for allocator_test.cpp: calls tune_allocator() as a service's main does, allocates
// and touches 64 MiB in small blocks, then prints what the test checks - its arguments, the
// GLIBC_TUNABLES it runs with and how much of its memory is in transparent huge pages.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/runtime.hpp"

int main(int argc, char** argv) {
  eventshop::services::tune_allocator();
  std::vector<char*> blocks;
  for (int i = 0; i < 64 * 1024; ++i) {
    auto* b = static_cast<char*>(std::malloc(1000));
    std::memset(b, 1, 1000);
    blocks.push_back(b);
  }
  long huge_kb = 0;
  std::ifstream in("/proc/self/smaps_rollup");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("AnonHugePages:", 0) == 0) huge_kb = std::strtol(line.c_str() + 14, nullptr, 10);
  std::string args;
  for (int i = 1; i < argc; ++i)
    args += std::string(i > 1 ? "|" : "") + argv[i];
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  const char* t = std::getenv("GLIBC_TUNABLES");
  std::printf("args=%s\ntunables=%s\nanon_huge_kb=%ld\ncomm=%s\n", args.c_str(), t ? t : "",
              huge_kb, comm.c_str());
  for (auto* b : blocks)
    std::free(b);
  return 0;
}
