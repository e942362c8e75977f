// eventshop-devbroker as a real process, with a publisher and a consumer as two more processes.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "eventshop/kafka/topics.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

// A child process with its stdout (and stderr) captured by a reader thread.
class child {
 public:
  explicit child(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start " + args[0]);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    reader_ = std::thread([this, fd = out[0]] {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        output_.append(buf, static_cast<std::size_t>(n));
      close(fd);
    });
  }
  ~child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  void signal(int sig) { kill(pid_, sig); }

  // The exit status, or -1 if it did not exit within `timeout` (then it is killed).
  int wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        exited_ = true;
        reader_.join();
        return -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    exited_ = true;
    reader_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& output() const { return output_; }  // complete after wait()

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  std::string output_;
};

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.insert(l);
  return out;
}

std::string wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) return line;
    std::this_thread::sleep_for(20ms);
  }
  return {};
}

TEST(Devbroker, PublisherAndConsumerProcessesMeetOnIt) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("eventshop-devbroker-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "bootstrap").string();
  child broker(
      {EVENTSHOP_DEVBROKER, "--brokers", "2", "--partitions", "3", "--bootstrap-file", file});
  const std::string bootstrap = wait_for_file(file, 15s);
  ASSERT_FALSE(bootstrap.empty()) << "no bootstrap file";
  EXPECT_EQ(bootstrap.rfind("127.0.0.1:", 0), 0u) << bootstrap;

  {
    eventshop::kafka::topic_admin admin(bootstrap);
    for (const char* t :
         {"orders", "inventory", "payment", "notification", "shipping", "orders.dlq",
          "inventory.dlq", "payment.dlq", "notification.dlq", "shipping.dlq"})
      EXPECT_EQ(admin.partitions(t), 3) << t;
  }

  const int n = 200;
  child consumer({EVENTSHOP_KAFKA_PEER, "consume", bootstrap, "orders", "inventory-service",
                  std::to_string(n), "60"});
  child publisher({EVENTSHOP_KAFKA_PEER, "publish", bootstrap, "orders", std::to_string(n)});
  ASSERT_EQ(publisher.wait(60s), 0) << publisher.output();
  ASSERT_EQ(consumer.wait(90s), 0) << consumer.output();
  const auto published = lines(publisher.output());
  EXPECT_EQ(published.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(lines(consumer.output()), published);

  broker.signal(SIGTERM);
  EXPECT_EQ(broker.wait(20s), 0);
  EXPECT_EQ(lines(broker.output()), std::set<std::string>{bootstrap});  // stdout: the address only
  EXPECT_FALSE(std::filesystem::exists(file));
  std::filesystem::remove_all(dir);
}

TEST(Devbroker, RejectsBadArgumentsNamingThem) {
  child bad({EVENTSHOP_DEVBROKER, "--brokers", "0"});
  EXPECT_EQ(bad.wait(10s), 2);
  child unknown({EVENTSHOP_DEVBROKER, "--frobnicate"});
  EXPECT_EQ(unknown.wait(10s), 2);
  child help({EVENTSHOP_DEVBROKER, "--help"});
  EXPECT_EQ(help.wait(10s), 0);
  EXPECT_NE(help.output().find("for development and tests"), std::string::npos) << help.output();
}

}  // namespace
