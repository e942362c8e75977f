#include <gtest/gtest.h>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/error.hpp"

namespace eventshop {
namespace {

TEST(Partitioner, Murmur2MatchesKafkasJavaClient) {
  // Values from Kafka's own UtilsTest, so a key maps to the same partition on every backend.
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")),
            -58897971);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("abc")), 479470107);
}

TEST(Partitioner, StableAndInRange) {
  for (int n : {1, 2, 3, 8, 100}) {
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "order-" + std::to_string(i);
      const auto p = partition_for(key, n);
      EXPECT_GE(p, 0);
      EXPECT_LT(p, n);
      EXPECT_EQ(p, partition_for(key, n));
    }
  }
  EXPECT_EQ(partition_for("anything", 0), 0);
}

TEST(Names, TopicAndGroupNamesFollowKafkasRule) {
  EXPECT_NO_THROW(validate_topic_name("orders"));
  EXPECT_NO_THROW(validate_topic_name("orders.dlq"));
  EXPECT_NO_THROW(validate_group_name("inventory-service_1"));
  EXPECT_THROW(validate_topic_name(""), error);
  EXPECT_THROW(validate_topic_name("has space"), error);
  EXPECT_THROW(validate_topic_name(std::string(250, 'a')), error);
  EXPECT_THROW(validate_group_name("slash/not/allowed"), error);
  try {
    validate_topic_name("bad topic");
  } catch (const error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
    EXPECT_NE(std::string(e.what()).find("'bad topic'"), std::string::npos);
  }
}

}  // namespace
}  // namespace eventshop
