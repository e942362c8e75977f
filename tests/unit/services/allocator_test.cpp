// tune_allocator(): where the kernel gives transparent huge pages on request only, a service
// program runs again with glibc's malloc asking for them, keeping its arguments; the opt-outs
// are honoured.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

std::string run(const std::string& env) {
  const std::string cmd = env + " '" EVENTSHOP_ALLOCATOR_PROBE "' 'one arg' two 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  ::pclose(p);
  return out;
}

std::string thp_setting() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(TuneAllocator, RestartsWithHugePagesAndKeepsTheArguments) {
  if (thp_setting().find("[madvise]") == std::string::npos)
    GTEST_SKIP() << "the kernel's THP setting is not 'madvise' (" << thp_setting()
                 << "): nothing to ask for";
  const auto out = run("env -u GLIBC_TUNABLES -u EVENTSHOP_MALLOC_HUGEPAGES");
  EXPECT_NE(out.find("args=one arg|two\n"), std::string::npos) << out;
  EXPECT_NE(out.find("tunables=glibc.malloc.hugetlb=1\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("anon_huge_kb=0\n"), std::string::npos) << out;
  // Still named after its program (ps, top, pkill), not "exe".
  EXPECT_NE(out.find("comm=eventshop_alloc"), std::string::npos) << out;
}

TEST(TuneAllocator, KeepsTunablesTheUserSet) {
  const auto out =
      run("env -u EVENTSHOP_MALLOC_HUGEPAGES GLIBC_TUNABLES=glibc.malloc.tcache_count=7");
  EXPECT_NE(out.find("args=one arg|two\n"), std::string::npos) << out;
  if (thp_setting().find("[madvise]") != std::string::npos)
    EXPECT_NE(out.find("tunables=glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=1\n"),
              std::string::npos)
        << out;
  else
    EXPECT_NE(out.find("tunables=glibc.malloc.tcache_count=7\n"), std::string::npos) << out;
}

TEST(TuneAllocator, OptOuts) {
  auto out = run("env -u GLIBC_TUNABLES EVENTSHOP_MALLOC_HUGEPAGES=0");
  EXPECT_NE(out.find("args=one arg|two\ntunables=\n"), std::string::npos) << out;
  out = run("env -u EVENTSHOP_MALLOC_HUGEPAGES GLIBC_TUNABLES=glibc.malloc.hugetlb=0");
  EXPECT_NE(out.find("tunables=glibc.malloc.hugetlb=0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("anon_huge_kb=0\n"), std::string::npos) << out;
}

}  // namespace
