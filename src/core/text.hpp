// Private helpers of eventshop::core for text handling (not installed).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
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

// Appends `s` as a JSON string literal. Only '"', '\\' and control characters are escaped (as
// RapidJSON's writer does); other bytes, UTF-8 included, are copied in runs.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  const char* run = s.data();
  const char* const end = s.data() + s.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(run, p);
    run = p + 1;
    switch (c) {
      case '"':
        out.append("\\\"", 2);
        break;
      case '\\':
        out.append("\\\\", 2);
        break;
      case '\n':
        out.append("\\n", 2);
        break;
      case '\r':
        out.append("\\r", 2);
        break;
      case '\t':
        out.append("\\t", 2);
        break;
      case '\b':
        out.append("\\b", 2);
        break;
      case '\f':
        out.append("\\f", 2);
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out.append(u, 6);
      }
    }
  }
  out.append(run, end);
  out.push_back('"');
}

}  // namespace eventshop::detail
