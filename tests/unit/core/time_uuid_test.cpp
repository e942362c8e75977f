#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/time.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop {
namespace {

using namespace std::chrono;

TEST(Time, FormatsUtcWithMilliseconds) {
  const timestamp t{milliseconds{1'795'428'000'123}};  // 2026-11-23T10:00:00.123Z
  EXPECT_EQ(format_rfc3339(t), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(format_rfc3339(timestamp{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(timestamp{milliseconds{951'782'400'000}}), "2000-02-29T00:00:00.000Z");
}

TEST(Time, ParsesOffsetsAndFractions) {
  EXPECT_EQ(parse_rfc3339("2026-11-23T10:00:00.123Z"), timestamp{milliseconds{1'795'428'000'123}});
  EXPECT_EQ(parse_rfc3339("2026-11-23T11:00:00.123+01:00"),
            timestamp{milliseconds{1'795'428'000'123}});
  EXPECT_EQ(parse_rfc3339("2026-11-23T09:30:00.123-00:30"),
            timestamp{milliseconds{1'795'428'000'123}});
  EXPECT_EQ(parse_rfc3339("2026-11-23t10:00:00z"), timestamp{milliseconds{1'795'428'000'000}});
  const auto micro = parse_rfc3339("2026-11-23T10:00:00.123456Z");
  ASSERT_TRUE(micro);
  EXPECT_EQ(duration_cast<microseconds>(micro->time_since_epoch()).count() % 1'000'000, 123456);
}

TEST(Time, RejectsWhatIsNotRfc3339) {
  for (const char* s : {"", "2026-11-23", "2026-11-23T10:00:00", "2026-13-01T00:00:00Z",
                        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-23T24:00:00Z",
                        "2026-11-23T10:60:00Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zjunk",
                        "2026-11-23 10:00:00Z", "yesterday", "2026-11-23T10:00:00+1:00"})
    EXPECT_FALSE(parse_rfc3339(s)) << s;
}

TEST(Time, RoundTripsAcrossYears) {
  for (long long ms = -86'400'000LL * 365; ms < 4'102'444'800'000LL; ms += 86'399'999LL * 97) {
    const timestamp t{milliseconds{ms}};
    if (ms < 0) continue;
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << ms;
  }
}

TEST(Uuid, IsVersion7LowercaseAndSortsByTime) {
  manual_clock c;
  const std::string a = new_uuid_v7(c);
  c.advance(milliseconds(1));
  const std::string b = new_uuid_v7(c);
  EXPECT_TRUE(is_uuid(a));
  EXPECT_EQ(a[14], '7');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  EXPECT_LT(a, b);
  for (char ch : a)
    EXPECT_FALSE(ch >= 'A' && ch <= 'F');
}

TEST(Uuid, MonotonicWithinOneMillisecondAndUnique) {
  manual_clock c;
  std::string prev;
  std::set<std::string> all;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = new_uuid_v7(c);
    EXPECT_GT(id, prev);
    prev = id;
    all.insert(id);
  }
  EXPECT_EQ(all.size(), 10'000u);
}

TEST(Uuid, UniqueAcrossThreads) {
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < 5000; ++i)
        ids[static_cast<size_t>(t)].push_back(new_uuid_v7());
    });
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (auto& v : ids)
    all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20'000u);
}

TEST(Uuid, Validation) {
  EXPECT_TRUE(is_uuid("0192f0c4-6b1e-7c3a-9d2f-0123456789ab"));
  EXPECT_TRUE(is_uuid("0192F0C4-6B1E-7C3A-9D2F-0123456789AB"));
  EXPECT_FALSE(is_uuid("0192f0c46b1e7c3a9d2f0123456789ab"));
  EXPECT_FALSE(is_uuid("0192f0c4-6b1e-7c3a-9d2f-0123456789ag"));
  EXPECT_FALSE(is_uuid(""));
  EXPECT_EQ(random_hex(32).size(), 32u);
  EXPECT_NE(random_hex(32), random_hex(32));
}

TEST(Errors, CategoryMessagesAndRetriability) {
  const std::error_code ec = errc::conflict;
  EXPECT_STREQ(ec.category().name(), "eventshop");
  EXPECT_EQ(ec.message(), "version conflict");
  EXPECT_TRUE(is_retriable(errc::timeout));
  EXPECT_FALSE(is_retriable(errc::malformed_event));
  EXPECT_FALSE(is_retriable(errc::unknown_event_type));
  const error e(errc::not_found, "order x not found");
  EXPECT_NE(std::string(e.what()).find("order x not found"), std::string::npos);
}

}  // namespace
}  // namespace eventshop
