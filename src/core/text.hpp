// Private helpers of eventshop::core for text handling (not installed).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace eventshop::detail {

// True when no byte has the high bit set, checked 8 bytes at a time. Pure ASCII is valid UTF-8,
// so a parser may skip its per-character UTF-8 validation for such input.
inline bool is_ascii(std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (word & 0x8080808080808080ULL) return false;
  }
  for (; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) & 0x80) return false;
  return true;
}

}  // namespace eventshop::detail
