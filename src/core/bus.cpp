#include "eventshop/core/bus.hpp"

#include "eventshop/core/error.hpp"

namespace eventshop {

std::future<publish_receipt> bus::publish(std::string_view topic, envelope event) {
  auto promise = std::make_shared<std::promise<publish_receipt>>();
  auto future = promise->get_future();
  const std::string topic_name(topic);
  publish(topic, std::move(event),
          [promise, topic_name](std::error_code ec, const publish_receipt& r) {
            if (ec) {
              promise->set_exception(std::make_exception_ptr(
                  error(ec, "publish to '" + topic_name + "' failed: " + ec.message())));
            } else {
              promise->set_value(r);
            }
          });
  return future;
}

std::uint32_t murmur2(std::string_view data) noexcept {
  // Identical to Kafka's Java client Utils.murmur2 (seed 0x9747b28c).
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto len = static_cast<std::uint32_t>(data.size());
  std::uint32_t h = seed ^ len;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::uint32_t len4 = len / 4;
  for (std::uint32_t i = 0; i < len4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = static_cast<std::uint32_t>(p[i4]) |
                      (static_cast<std::uint32_t>(p[i4 + 1]) << 8) |
                      (static_cast<std::uint32_t>(p[i4 + 2]) << 16) |
                      (static_cast<std::uint32_t>(p[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = len & ~3u;
  switch (len % 4) {
    case 3:
      h ^= static_cast<std::uint32_t>(p[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<std::uint32_t>(p[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<std::uint32_t>(p[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

std::int32_t partition_for(std::string_view key, std::int32_t partitions) noexcept {
  if (partitions <= 1) return 0;
  return static_cast<std::int32_t>((murmur2(key) & 0x7fffffffu) %
                                   static_cast<std::uint32_t>(partitions));
}

namespace {
void validate_name(std::string_view name, const char* what) {
  if (name.empty())
    throw error(errc::invalid_argument, std::string(what) + " name must not be empty");
  if (name.size() > 249)
    throw error(errc::invalid_argument, std::string(what) + " name is longer than 249 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      throw error(errc::invalid_argument, std::string(what) + " name '" + std::string(name) +
                                              "' may only contain A-Z a-z 0-9 . _ -");
  }
}
}  // namespace

void validate_topic_name(std::string_view topic) {
  validate_name(topic, "topic");
}
void validate_group_name(std::string_view group) {
  validate_name(group, "group");
}

}  // namespace eventshop
