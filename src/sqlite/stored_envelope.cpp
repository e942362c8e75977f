// The canonical-form reader of stored envelopes (see stored_envelope.hpp). The layout it expects
// is what eventshop::encode() writes (src/core/codec.cpp, encode_to):
//   {"specversion":"1.0","id":S,"source":S,"type":S[,"subject":S],"time":S,
//    "datacontenttype":S,"dataschemaversion":N[,"correlationid":S][,"causationid":S]
//    [,"traceparent":S][,EXT:S]*,"data":{...}}
#include "stored_envelope.hpp"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstring>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop::sqlite::detail {

namespace {

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
    for (; p != end; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') break;
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
    }
    if (p == end) return false;
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

bool is_ascii(std::string_view s) noexcept {
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

// `data` must be one valid JSON object and nothing else: the same grammar (and the same flags)
// the strict decoder applies to it.
bool valid_object(std::string_view data) {
  if (data.size() < 2 || data.front() != '{' || data.back() != '}') return false;
  thread_local rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> ignore;
  rapidjson::MemoryStream stream(data.data(), data.size());
  constexpr unsigned flags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag;
  const bool ok =
      is_ascii(data)
          ? !reader.Parse<flags>(stream, ignore).IsError()
          : !reader.Parse<flags | rapidjson::kParseValidateEncodingFlag>(stream, ignore).IsError();
  return ok && stream.Tell() == data.size();
}

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
  if (!valid_object(data)) return false;
  out.data.assign(data);
  return true;
}

}  // namespace eventshop::sqlite::detail
