// The canonical-form reader of stored envelopes (see stored_envelope.hpp). The layout it expects
// is what eventshop::encode() writes (src/core/codec.cpp, encode_to):
//   {"specversion":"1.0","id":S,"source":S,"type":S[,"subject":S],"time":S,
//    "datacontenttype":S,"dataschemaversion":N[,"correlationid":S][,"causationid":S]
//    [,"traceparent":S][,EXT:S]*,"data":{...}}
#include "stored_envelope.hpp"

#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop::sqlite::detail {

namespace {

// The first byte in [p, end) that ends or complicates a JSON string: '"', '\\', a control
// character or a non-ASCII byte; `end` if none. Sixteen bytes at a time where SSE2 exists (never
// reading past `end`).
const char* string_stop(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes 0x80-0xff are negative, so "< 0x20" also catches non-ASCII.
    const __m128i hit =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                     _mm_cmplt_epi8(x, space));
    if (const int mask = _mm_movemask_epi8(hit); mask != 0)
      return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
}

struct scanner {
  const char* p;
  const char* end;

  bool literal(std::string_view s) noexcept {
    if (static_cast<std::size_t>(end - p) < s.size() || std::memcmp(p, s.data(), s.size()) != 0)
      return false;
    p += s.size();
    return true;
  }
  // A JSON string without escapes, control characters or non-ASCII bytes (those make the
  // caller fall back to the strict decoder, which unescapes and validates UTF-8).
  bool string(std::string_view& v) noexcept {
    if (p == end || *p != '"') return false;
    const char* b = ++p;
    p = string_stop(p, end);
    if (p == end || *p != '"') return false;
    v = std::string_view(b, static_cast<std::size_t>(p - b));
    ++p;
    return true;
  }
  bool non_empty(std::string& field) noexcept {
    std::string_view v;
    if (!string(v) || v.empty()) return false;
    field.assign(v);
    return true;
  }
  bool optional(std::string_view key, std::string& field) noexcept {
    if (!literal(key)) return true;
    std::string_view v;
    if (!string(v)) return false;
    field.assign(v);
    return true;
  }
};

constexpr std::string_view standard_names[] = {
    "specversion",   "id",          "source",          "type",
    "subject",       "time",        "datacontenttype", "dataschemaversion",
    "correlationid", "causationid", "traceparent",     "data"};

bool is_standard(std::string_view name) noexcept {
  for (auto n : standard_names)
    if (n == name) return true;
  return false;
}

// A JSON validator for `data` that copies nothing. It accepts a subset of what the strict
// decoder (RapidJSON, numbers as strings) accepts: plain RFC 8259 JSON of ASCII text, nesting up
// to 256 levels, \u escapes outside the surrogate range. Whatever it does not accept - non-ASCII
// bytes, surrogate escapes, deeper nesting, invalid JSON - goes to the strict decoder, which
// validates UTF-8 and surrogate pairs and names the error.
class validator {
 public:
  explicit validator(std::string_view text) noexcept
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool object_only() noexcept {
    if (!object(0)) return false;
    space();
    return p_ == end_;
  }

 private:
  static constexpr int max_depth = 256;

  void space() noexcept {
    while (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }
  bool eat(char c) noexcept {
    if (p_ != end_ && *p_ == c) {  // canonical JSON has no whitespace
      ++p_;
      return true;
    }
    space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  static bool hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  bool string() noexcept {  // at the opening quote
    ++p_;
    for (;;) {
      p_ = string_stop(p_, end_);
      if (p_ == end_) return false;
      const char c = *p_++;
      if (c == '"') return true;
      if (c != '\\') return false;  // a control character or a non-ASCII byte
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          break;
        case 'u': {
          if (end_ - p_ < 4 || !hex(p_[0]) || !hex(p_[1]) || !hex(p_[2]) || !hex(p_[3]))
            return false;
          const bool surrogate = (p_[0] == 'd' || p_[0] == 'D') &&
                                 ((p_[1] >= '8' && p_[1] <= '9') ||
                                  (p_[1] >= 'a' && p_[1] <= 'f') || (p_[1] >= 'A' && p_[1] <= 'F'));
          if (surrogate) return false;
          p_ += 4;
          break;
        }
        default:
          return false;
      }
    }
  }
  bool digits() noexcept {
    const char* b = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
      ++p_;
    return p_ != b;
  }
  bool number() noexcept {
    if (*p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0')
      ++p_;
    else if (!digits())
      return false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return true;
  }
  bool word(std::string_view w) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < w.size() || std::memcmp(p_, w.data(), w.size()) != 0)
      return false;
    p_ += w.size();
    return true;
  }
  bool value(int depth) noexcept {
    if (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ') space();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        return word("true");
      case 'f':
        return word("false");
      case 'n':
        return word("null");
      default:
        return number();
    }
  }
  bool object(int depth) noexcept {
    if (depth > max_depth || !eat('{')) return false;
    if (eat('}')) return true;
    for (;;) {
      if (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ') space();
      if (p_ == end_ || *p_ != '"' || !string() || !eat(':') || !value(depth)) return false;
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }
  bool array(int depth) noexcept {
    if (depth > max_depth || !eat('[')) return false;
    if (eat(']')) return true;
    for (;;) {
      if (!value(depth)) return false;
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool decode_canonical(std::string_view json, envelope& out) {
  scanner s{json.data(), json.data() + json.size()};
  if (!s.literal(R"({"specversion":"1.0","id":)") || !s.non_empty(out.id)) return false;
  if (!s.literal(R"(,"source":)") || !s.non_empty(out.source)) return false;
  if (!s.literal(R"(,"type":)") || !s.non_empty(out.type)) return false;
  out.subject.clear();
  if (!s.optional(R"(,"subject":)", out.subject)) return false;
  std::string_view v;
  if (!s.literal(R"(,"time":)") || !s.string(v)) return false;
  const auto t = parse_rfc3339(v);
  if (!t) return false;
  out.time = *t;
  if (!s.literal(R"(,"datacontenttype":)") || !s.string(v) || !is_json_content_type(v))
    return false;
  out.datacontenttype.assign(v);
  if (!s.literal(R"(,"dataschemaversion":)")) return false;
  {
    const char* b = s.p;
    while (s.p != s.end && *s.p >= '0' && *s.p <= '9')
      ++s.p;
    std::int64_t n = 0;
    if (s.p == b || *b == '0' || s.p - b > 18) return false;
    std::from_chars(b, s.p, n);
    out.dataschemaversion = n;
  }
  out.correlationid.clear();
  out.causationid.clear();
  out.traceparent.clear();
  if (!s.optional(R"(,"correlationid":)", out.correlationid) ||
      !s.optional(R"(,"causationid":)", out.causationid) ||
      !s.optional(R"(,"traceparent":)", out.traceparent))
    return false;
  out.extensions.clear();
  for (;;) {
    std::string_view name;
    if (!s.literal(",") || !s.string(name) || !s.literal(":")) return false;
    if (name == "data") break;
    if (!is_valid_extension_name(name) || is_standard(name) || !s.string(v)) return false;
    if (!out.extensions.emplace(std::string(name), std::string(v)).second) return false;
  }
  // `data` runs to the envelope's closing brace, the last byte.
  if (s.end - s.p < 3 || *(s.end - 1) != '}') return false;
  const std::string_view data(s.p, static_cast<std::size_t>(s.end - 1 - s.p));
  // Exactly the object: the strict decoder slices `data` from its '{' to its '}'.
  if (data.front() != '{' || data.back() != '}' || !validator(data).object_only()) return false;
  out.data.assign(data);
  return true;
}

}  // namespace eventshop::sqlite::detail
