#include "eventshop/core/uuid.hpp"

#include <chrono>
#include <cstdint>
#include <random>

namespace eventshop {
namespace {

// xoshiro256** seeded once per thread from std::random_device: fast and good enough for ids
// (not for secrets).
struct rng {
  std::uint64_t s[4];

  rng() {
    std::random_device rd;
    for (auto& v : s)
      v = (std::uint64_t{rd()} << 32) ^ rd();
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

struct thread_state {
  rng gen;
  std::uint64_t last_ms = 0;
  std::uint32_t counter = 0;
};

thread_state& state() {
  thread_local thread_state st;
  return st;
}

constexpr char hex[] = "0123456789abcdef";

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string new_uuid_v7(const clock& c) {
  auto& st = state();
  auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(c.now().time_since_epoch()).count());
  const std::uint64_t r = st.gen.next();
  if (ms > st.last_ms) {
    st.last_ms = ms;
    st.counter = static_cast<std::uint32_t>(r >> 56) & 0x3ff;  // random start, room to count up
  } else {
    ms = st.last_ms;  // clock went back or same ms: stay monotonic
    if (++st.counter > 0xfff) {
      st.counter = 0;
      ms = ++st.last_ms;
    }
  }
  std::uint8_t b[16];
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | ((st.counter >> 8) & 0x0f));
  b[7] = static_cast<std::uint8_t>(st.counter & 0xff);
  const std::uint64_t r2 = st.gen.next();
  for (int i = 0; i < 8; ++i)
    b[8 + i] = static_cast<std::uint8_t>(r2 >> (8 * i));
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant

  std::string out(36, '-');
  size_t o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++o;
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 0xf];
  }
  return out;
}

bool is_uuid(std::string_view t) noexcept {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (t[i] != '-') return false;
    } else if (hexval(t[i]) < 0) {
      return false;
    }
  }
  return true;
}

std::string random_hex(size_t n) {
  auto& st = state();
  std::string out(n, '0');
  std::uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) bits = st.gen.next();
    out[i] = hex[bits & 0xf];
    bits >>= 4;
  }
  return out;
}

}  // namespace eventshop
