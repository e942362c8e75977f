// Envelope codec. Decoding is one SAX pass over the input (RapidJSON Reader): attributes are
// checked as they stream by and `data` is captured as the raw slice of the input, so the payload
// is neither materialised as a DOM nor re-serialised.
#include "eventshop/core/codec.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cstdint>
#include <cstring>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "text.hpp"

namespace eventshop {
namespace {

using rapidjson::SizeType;

enum attr : unsigned {
  a_specversion = 1u << 0,
  a_id = 1u << 1,
  a_source = 1u << 2,
  a_type = 1u << 3,
  a_subject = 1u << 4,
  a_time = 1u << 5,
  a_datacontenttype = 1u << 6,
  a_dataschemaversion = 1u << 7,
  a_correlationid = 1u << 8,
  a_causationid = 1u << 9,
  a_traceparent = 1u << 10,
  a_data = 1u << 11,
  a_extension = 1u << 12,
};

struct attr_name {
  std::string_view name;
  attr bit;
};
constexpr attr_name known_attrs[] = {
    {"specversion", a_specversion},
    {"id", a_id},
    {"source", a_source},
    {"type", a_type},
    {"subject", a_subject},
    {"time", a_time},
    {"datacontenttype", a_datacontenttype},
    {"dataschemaversion", a_dataschemaversion},
    {"correlationid", a_correlationid},
    {"causationid", a_causationid},
    {"traceparent", a_traceparent},
    {"data", a_data},
};

attr lookup(std::string_view key) {
  for (const auto& a : known_attrs)
    if (a.name == key) return a.bit;
  return a_extension;
}

// SAX handler: depth 0 = outside, 1 = inside the envelope object, >1 = inside `data` (skipped).
class envelope_handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, envelope_handler> {
 public:
  envelope_handler(envelope& out, rapidjson::InsituStringStream& stream, std::string_view input)
      : out_(out), stream_(stream), input_(input) {}

  bool Null() { return scalar("null"); }
  bool Bool(bool b) {
    if (depth_ != 1) return scalar("boolean");
    if (current_ == a_extension) return extension(b ? "true" : "false");
    return scalar("boolean");
  }
  bool RawNumber(const char* str, SizeType len, bool) {
    if (depth_ != 1) return scalar("number");
    const std::string_view text{str, len};
    if (current_ == a_dataschemaversion) {
      std::int64_t v = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || p != text.data() + text.size() || v < 1)
        return fail(errc::wrong_type,
                    "envelope attribute 'dataschemaversion': expected an integer "
                    ">= 1, got " +
                        std::string(text));
      out_.dataschemaversion = v;
      return true;
    }
    if (current_ == a_extension) return extension(text);
    return scalar("number");
  }
  bool String(const char* str, SizeType len, bool) {
    if (depth_ > 1) return true;
    if (depth_ == 0)
      return fail(errc::malformed_event, "envelope: expected a JSON object, got a string");
    const std::string_view v{str, len};
    switch (current_) {
      case a_specversion:
        if (v != "1.0")
          return fail(
              errc::wrong_type,
              "envelope attribute 'specversion': expected \"1.0\", got \"" + std::string(v) + "\"");
        return true;
      case a_id:
        return non_empty(out_.id, v, "id");
      case a_source:
        return non_empty(out_.source, v, "source");
      case a_type:
        return non_empty(out_.type, v, "type");
      case a_subject:
        out_.subject.assign(v);
        return true;
      case a_time: {
        const auto t = parse_rfc3339(v);
        if (!t)
          return fail(errc::wrong_type,
                      "envelope attribute 'time': expected an RFC 3339 timestamp, "
                      "got \"" +
                          std::string(v.substr(0, 64)) + "\"");
        out_.time = *t;
        return true;
      }
      case a_datacontenttype:
        if (!is_json_content_type(v))
          return fail(errc::wrong_type,
                      "envelope attribute 'datacontenttype': only JSON payloads "
                      "are supported, got \"" +
                          std::string(v.substr(0, 64)) + "\"");
        out_.datacontenttype.assign(v);
        return true;
      case a_correlationid:
        out_.correlationid.assign(v);
        return true;
      case a_causationid:
        out_.causationid.assign(v);
        return true;
      case a_traceparent:
        out_.traceparent.assign(v);
        return true;
      case a_extension:
        return extension(v);
      default:
        return scalar("string");
    }
  }
  bool StartObject() {
    if (depth_ == 1) {
      if (current_ != a_data) return scalar("object");
      data_begin_ = value_start();
    }
    ++depth_;
    return true;
  }
  bool Key(const char* str, SizeType len, bool) {
    if (depth_ > 1) return true;
    const std::string_view key{str, len};
    current_ = lookup(key);
    if (current_ == a_extension) {
      if (!is_valid_extension_name(key))
        return fail(errc::wrong_type, "envelope attribute '" + std::string(key.substr(0, 64)) +
                                          "': extension names must be 1-20 characters a-z or 0-9");
      if (out_.extensions.contains(key))
        return fail(errc::malformed_event,
                    "envelope attribute '" + std::string(key) + "' appears twice");
      ext_name_.assign(key);
    } else {
      if (seen_ & current_)
        return fail(errc::malformed_event,
                    "envelope attribute '" + std::string(key) + "' appears twice");
    }
    seen_ |= current_;
    key_end_ = stream_.Tell();
    return true;
  }
  bool EndObject(SizeType) {
    --depth_;
    if (depth_ == 1 && current_ == a_data) {
      out_.data.assign(input_.data() + data_begin_, stream_.Tell() - data_begin_);
    }
    return true;
  }
  bool StartArray() {
    if (depth_ == 0)
      return fail(errc::malformed_event, "envelope: expected a JSON object, got an array");
    if (depth_ == 1) return scalar("array");
    ++depth_;
    return true;
  }
  bool EndArray(SizeType) {
    --depth_;
    return true;
  }

  unsigned seen() const { return seen_; }
  errc error() const { return error_; }
  std::string& message() { return message_; }

 private:
  bool scalar(const char* got) {
    if (depth_ > 1) return true;
    if (depth_ == 0)
      return fail(errc::malformed_event,
                  std::string("envelope: expected a JSON object, got ") + got);
    const std::string name = current_ == a_extension ? ext_name_ : std::string(name_of(current_));
    const char* want = current_ == a_data                ? "a JSON object"
                       : current_ == a_dataschemaversion ? "an integer"
                       : current_ == a_extension         ? "a string, number or boolean"
                                                         : "a string";
    return fail(errc::wrong_type,
                "envelope attribute '" + name + "': expected " + want + ", got " + got);
  }
  static std::string_view name_of(attr a) {
    for (const auto& k : known_attrs)
      if (k.bit == a) return k.name;
    return "?";
  }
  bool non_empty(std::string& field, std::string_view v, const char* name) {
    if (v.empty())
      return fail(errc::wrong_type,
                  std::string("envelope attribute '") + name + "': must not be empty");
    field.assign(v);
    return true;
  }
  bool extension(std::string_view v) {
    out_.extensions.emplace(ext_name_, std::string(v));
    return true;
  }
  std::size_t value_start() const {
    std::size_t p = key_end_;
    while (p < input_.size() && input_[p] != '{')
      ++p;  // skips whitespace and the ':'
    return p;
  }
  bool fail(errc e, std::string msg) {
    error_ = e;
    message_ = std::move(msg);
    return false;
  }

  envelope& out_;
  rapidjson::InsituStringStream& stream_;
  std::string_view input_;
  int depth_ = 0;
  attr current_ = a_extension;
  unsigned seen_ = 0;
  std::size_t key_end_ = 0;
  std::size_t data_begin_ = 0;
  std::string ext_name_;
  errc error_ = errc::ok;
  std::string message_;
};

using detail::is_ascii;

constexpr unsigned required_attrs = a_specversion | a_id | a_source | a_type | a_time | a_data;

std::string too_large_message(std::size_t size, std::size_t limit) {
  return "envelope is " + std::to_string(size) + " bytes, over the " + std::to_string(limit) +
         "-byte limit";
}

}  // namespace

bool is_json_content_type(std::string_view ct) noexcept {
  const auto semi = ct.find(';');
  if (semi != std::string_view::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ')
    ct.remove_suffix(1);
  return ct == "application/json" || ct == "text/json" ||
         (ct.size() > 5 && ct.substr(ct.size() - 5) == "+json");
}

bool is_valid_extension_name(std::string_view n) noexcept {
  if (n.empty() || n.size() > 20) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

std::error_code decode(std::string_view json, envelope& out, std::string& message,
                       const codec_limits& limits) {
  if (json.size() > limits.max_envelope_bytes) {
    message = too_large_message(json.size(), limits.max_envelope_bytes);
    return errc::too_large;
  }
  // Reset field by field rather than assigning a new envelope: the strings keep their capacity,
  // so decoding into a reused envelope does not allocate in steady state.
  out.id.clear();
  out.source.clear();
  out.type.clear();
  out.subject.clear();
  out.time = {};
  out.datacontenttype.assign("application/json");
  out.dataschemaversion = 1;
  out.correlationid.clear();
  out.causationid.clear();
  out.traceparent.clear();
  out.extensions.clear();
  out.data.clear();
  // Parse a NUL-terminated private copy in situ: strings are unescaped in place instead of
  // through a side buffer, and whitespace skipping can use SIMD. Offsets in the copy equal
  // offsets in `json`, which is where `data` is sliced from.
  thread_local std::string scratch;
  scratch.assign(json.data(), json.size());
  if (scratch.find('\0') != std::string::npos) {
    message = "envelope is not valid JSON: it contains a NUL byte";
    return errc::malformed_event;
  }
  rapidjson::InsituStringStream stream(scratch.data());
  envelope_handler handler(out, stream, json);
  rapidjson::Reader reader;
  constexpr unsigned flags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                             rapidjson::kParseStopWhenDoneFlag;
  // Pure ASCII is valid UTF-8 by definition; only input with other bytes pays for the
  // character-by-character UTF-8 validation.
  const auto result =
      is_ascii(json) ? reader.Parse<flags>(stream, handler)
                     : reader.Parse<flags | rapidjson::kParseValidateEncodingFlag>(stream, handler);
  if (result.IsError()) {
    if (handler.error() != errc::ok) {
      message = std::move(handler.message());
      return handler.error();
    }
    message = "envelope is not valid JSON at offset " + std::to_string(result.Offset()) + ": " +
              rapidjson::GetParseError_En(result.Code());
    return errc::malformed_event;
  }
  // kParseStopWhenDoneFlag stops after the object; anything but whitespace after it is garbage.
  for (std::size_t p = stream.Tell(); p < json.size(); ++p) {
    const char c = json[p];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      message = "envelope is not valid JSON at offset " + std::to_string(p) +
                ": unexpected data after the envelope object";
      return errc::malformed_event;
    }
  }
  const unsigned missing = required_attrs & ~handler.seen();
  if (missing != 0) {
    for (const auto& a : known_attrs) {
      if (missing & a.bit) {
        message = "envelope attribute '" + std::string(a.name) + "' is required but missing";
        return errc::missing_attribute;
      }
    }
  }
  return {};
}

envelope decode(std::string_view json, const codec_limits& limits) {
  envelope e;
  std::string message;
  if (const auto ec = decode(json, e, message, limits)) throw error(ec, message);
  return e;
}

void validate(const envelope& e) {
  auto require = [](bool ok, const char* attr_name, const char* what) {
    if (!ok)
      throw error(errc::wrong_type, std::string("envelope attribute '") + attr_name + "': " + what);
  };
  require(!e.id.empty(), "id", "must not be empty");
  require(!e.source.empty(), "source", "must not be empty");
  require(!e.type.empty(), "type", "must not be empty");
  require(is_json_content_type(e.datacontenttype), "datacontenttype",
          "only JSON payloads are supported");
  require(e.dataschemaversion >= 1, "dataschemaversion", "must be >= 1");
  for (const auto& [name, value] : e.extensions) {
    if (!is_valid_extension_name(name) || lookup(name) != a_extension)
      throw error(errc::wrong_type, "envelope attribute '" + name +
                                        "': extension names must be 1-20 characters a-z or 0-9 "
                                        "and not a standard attribute");
  }
  const auto p = e.data.find_first_not_of(" \t\r\n");
  require(p != std::string::npos && e.data[p] == '{', "data", "must be a JSON object");
}

namespace {

// `"name":"value"` after a comma; the names are the fixed attribute names (no escaping needed).
void append_attribute(std::string& out, std::string_view comma_quoted_name_colon,
                      std::string_view value) {
  out.append(comma_quoted_name_colon);
  append_json_string(out, value);
}

}  // namespace

// Written by hand rather than through RapidJSON's writer: the attribute names are constants, the
// values are short strings that rarely need escaping, and `data` is already JSON text. This
// appends straight into `out` without an intermediate buffer.
void encode_to(std::string& out, const envelope& e, const codec_limits& limits) {
  const auto p = e.data.find_first_not_of(" \t\r\n");
  if (p == std::string::npos || e.data[p] != '{')
    throw error(errc::malformed_event, "envelope attribute 'data': must be a JSON object");
  const std::size_t start = out.size();
  out.reserve(start + 256 + e.id.size() + e.source.size() + e.type.size() + e.subject.size() +
              e.correlationid.size() + e.causationid.size() + e.traceparent.size() + e.data.size());
  out.append(R"({"specversion":"1.0","id":)");
  append_json_string(out, e.id);
  append_attribute(out, R"(,"source":)", e.source);
  append_attribute(out, R"(,"type":)", e.type);
  if (!e.subject.empty()) append_attribute(out, R"(,"subject":)", e.subject);
  out.append(R"(,"time":")");
  char time_buf[24];
  write_rfc3339(time_buf, e.time);
  out.append(time_buf, sizeof time_buf);
  out.push_back('"');
  append_attribute(out, R"(,"datacontenttype":)", e.datacontenttype);
  out.append(R"(,"dataschemaversion":)");
  char number[24];
  const auto [number_end, ec] = std::to_chars(number, number + sizeof number, e.dataschemaversion);
  out.append(number, number_end);
  if (!e.correlationid.empty()) append_attribute(out, R"(,"correlationid":)", e.correlationid);
  if (!e.causationid.empty()) append_attribute(out, R"(,"causationid":)", e.causationid);
  if (!e.traceparent.empty()) append_attribute(out, R"(,"traceparent":)", e.traceparent);
  for (const auto& [name, value] : e.extensions) {
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.append(R"(,"data":)");
  out.append(e.data);
  out.push_back('}');
  if (const auto size = out.size() - start; size > limits.max_envelope_bytes) {
    out.resize(start);
    throw error(errc::too_large, too_large_message(size, limits.max_envelope_bytes));
  }
}

std::string encode(const envelope& e, const codec_limits& limits) {
  std::string out;
  encode_to(out, e, limits);
  return out;
}

}  // namespace eventshop
