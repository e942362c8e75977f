#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "eventshop/core/context.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/metrics.hpp"

namespace eventshop {
namespace {

struct captured_log {
  std::mutex mutex;
  std::vector<std::string> lines;
  captured_log() {
    set_log_sink([this](std::string_view l) {
      std::lock_guard lock(mutex);
      lines.emplace_back(l);
    });
  }
  ~captured_log() { set_log_sink(nullptr); }
};

TEST(Logging, WritesOneJsonObjectPerLineWithContext) {
  captured_log cap;
  logger log("order", log_level::info);
  {
    context_scope scope({.correlationid = "corr-1", .causationid = "evt-1", .request_id = "req-1"});
    log.info("order \"created\"",
             {{"order_id", "o-1"}, {"items", 2}, {"total", 59.98}, {"paid", false}});
  }
  log.debug("hidden");
  ASSERT_EQ(cap.lines.size(), 1u);
  const json_document doc(cap.lines[0]);
  const json_view v = doc.root();
  EXPECT_EQ(v["level"].as_string(), "info");
  EXPECT_EQ(v["service"].as_string(), "order");
  EXPECT_EQ(v["msg"].as_string(), "order \"created\"");
  EXPECT_EQ(v["correlation_id"].as_string(), "corr-1");
  EXPECT_EQ(v["request_id"].as_string(), "req-1");
  EXPECT_EQ(v["order_id"].as_string(), "o-1");
  EXPECT_EQ(v["items"].as_int64(), 2);
  EXPECT_FALSE(v["paid"].as_bool());
  EXPECT_EQ(v["ts"].as_string().size(), 24u);
}

TEST(Logging, LevelsParseAndFilter) {
  EXPECT_EQ(parse_log_level("debug"), log_level::debug);
  EXPECT_EQ(parse_log_level("warning"), log_level::warn);
  EXPECT_EQ(parse_log_level("nonsense", log_level::error), log_level::error);
  logger log("x", log_level::warn);
  EXPECT_FALSE(log.enabled(log_level::info));
  EXPECT_TRUE(log.enabled(log_level::error));
  log.set_level(log_level::off);
  EXPECT_FALSE(log.enabled(log_level::error));
}

TEST(Logging, AThrowingSinkNeverReachesTheCaller) {
  set_log_sink([](std::string_view) { throw std::runtime_error("disk full"); });
  logger log("x", log_level::info);
  EXPECT_NO_THROW(log.error("still fine"));
  set_log_sink(nullptr);
}

TEST(Metrics, RendersPrometheusTextFormat) {
  metrics_registry reg;
  reg.counter("http_requests_total", "Requests", {{"route", "/order"}, {"code", "201"}}).inc(3);
  reg.gauge("consumer_lag", "Lag", {{"group", "inventory"}}).set(7);
  auto& h = reg.histogram("latency_seconds", "Latency", {}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = reg.render();
  EXPECT_NE(text.find("# HELP http_requests_total Requests\n# TYPE http_requests_total counter\n"
                      "http_requests_total{route=\"/order\",code=\"201\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE consumer_lag gauge\nconsumer_lag{group=\"inventory\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.10000000000000001\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_sum 5.5499999999999998\n"), std::string::npos) << text;
}

TEST(Metrics, SameNameAndLabelsIsTheSameMetric) {
  metrics_registry reg;
  auto& a = reg.counter("c_total", "h", {{"k", "v"}});
  auto& b = reg.counter("c_total", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &reg.counter("c_total", "h", {{"k", "w"}}));
}

TEST(Metrics, BadNamesAndKindClashesAreErrors) {
  metrics_registry reg;
  EXPECT_THROW(reg.counter("1bad", "h"), error);
  EXPECT_THROW(reg.counter("ok", "h", {{"bad-label", "x"}}), error);
  reg.counter("taken", "h");
  EXPECT_THROW(reg.gauge("taken", "h"), error);
  EXPECT_THROW(reg.histogram("h", "h", {{"le", "1"}}), error);
  EXPECT_THROW(histogram({2.0, 1.0}), error);
}

TEST(Metrics, LabelValuesAreEscaped) {
  metrics_registry reg;
  reg.counter("c", "h", {{"path", "a\"b\\c\nd"}}).inc();
  EXPECT_NE(reg.render().find(R"(c{path="a\"b\\c\nd"} 1)"), std::string::npos);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  metrics_registry reg;
  auto& c = reg.counter("n_total", "h");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        c.inc();
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(c.value(), 40000.0);
}

}  // namespace
}  // namespace eventshop
