// A temporary directory per test, removed with everything in it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace eventshop::sqlite::testing {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("eventshop-sqlite-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(n.fetch_add(1)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace eventshop::sqlite::testing
