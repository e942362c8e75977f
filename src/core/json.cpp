#include "eventshop/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "eventshop/core/error.hpp"
#include "text.hpp"

namespace eventshop {

using rapidjson::SizeType;

namespace {

// One spare object per thread and type (a parsed document, a writer's state): a document is
// about 2.3 KiB, big enough that each malloc of one made glibc consolidate its fast bins first
// (a large request), which was most of the allocator's time in the services' dispatch threads;
// a writer's state is one allocation per encoded payload saved.
template <class T>
std::unique_ptr<T>& spare_document() noexcept {
  thread_local std::unique_ptr<T> spare;
  return spare;
}

// True when one of the 8 bytes of `w` is a control character, '"' or '\\' (may also flag a
// UTF-8 byte next to such a byte; the caller then looks byte by byte).
bool needs_escape(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t high = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (ones * '"');
  const std::uint64_t backslash = w ^ (ones * '\\');
  return ((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
           ((backslash - ones) & ~backslash)) &
          high) != 0;
}

// True when `s` has no byte that a JSON string literal must escape.
bool plain_json_text(std::string_view s) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::uint64_t w = 0x6161616161616161ULL;  // "aaaaaaaa": nothing to escape
  if (n < 8) {
    if (n != 0) std::memcpy(&w, p, n);
    return !needs_escape(w);
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    if (needs_escape(w)) return false;
  }
  std::memcpy(&w, p + n - 8, 8);  // the last 8 bytes (overlapping the loop's last word)
  return !needs_escape(w);
}

// Appends `"s"` and then `suffix` (if not NUL) when `s` needs no escaping, in one step; false
// (nothing appended) otherwise.
bool append_plain_json_string(std::string& out, std::string_view s, char suffix) {
  if (!plain_json_text(s)) return false;
  const std::size_t n = out.size();
  const std::size_t extra = s.size() + (suffix != '\0' ? 3 : 2);
  out.resize(n + extra);
  char* d = out.data() + n;
  d[0] = '"';
  if (!s.empty()) std::memcpy(d + 1, s.data(), s.size());
  d[s.size() + 1] = '"';
  if (suffix != '\0') d[s.size() + 2] = suffix;
  return true;
}

}  // namespace

// Written by hand into a std::string (RapidJSON's writer went through a growable stack buffer
// and a nesting stack of its own): each open object or array remembers whether it still waits for
// its first element, so commas and colons are placed without a state machine.
struct json_writer::impl {
  std::string out;
  // One bit per open object/array, innermost lowest: nothing written in it yet. Nesting deeper
  // than 64 levels continues in `deeper`.
  std::uint64_t empty_bits = 0;
  std::size_t depth = 0;
  std::vector<bool> deeper;
  bool after_key = false;  // the next value follows a key's colon

  impl() { out.reserve(256); }
  void reset() noexcept {
    out.clear();
    empty_bits = 0;
    depth = 0;
    deeper.clear();
    after_key = false;
  }

  void prefix() {
    if (after_key) {
      after_key = false;
    } else if (depth > 64) {
      if (deeper.back())
        deeper.back() = false;
      else
        out.push_back(',');
    } else if (depth > 0) {
      const std::uint64_t bit = std::uint64_t{1} << (depth - 1);
      if (empty_bits & bit)
        empty_bits &= ~bit;
      else
        out.push_back(',');
    }
  }
  void open(char c) {
    prefix();
    out.push_back(c);
    ++depth;
    if (depth > 64)
      deeper.push_back(true);
    else
      empty_bits |= std::uint64_t{1} << (depth - 1);
  }
  void close(char c) {
    out.push_back(c);
    if (depth == 0) return;
    if (depth > 64) deeper.pop_back();
    --depth;
  }
  template <class Int>
  void integer(Int v) {
    prefix();
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
};

json_writer::json_writer() {
  if (auto& spare = spare_document<impl>(); spare) {
    impl_ = std::move(spare);
    if (impl_->out.capacity() < 256) impl_->out.reserve(256);  // take() moved the text out
  } else {
    impl_ = std::make_unique<impl>();
  }
}
json_writer::~json_writer() {
  if (!impl_) return;
  if (auto& spare = spare_document<impl>(); !spare && impl_->out.capacity() <= 64 * 1024) {
    impl_->reset();
    spare = std::move(impl_);
  }
}

void json_writer::begin_object() {
  impl_->open('{');
}
void json_writer::end_object() {
  impl_->close('}');
}
void json_writer::begin_array() {
  impl_->open('[');
}
void json_writer::end_array() {
  impl_->close(']');
}
void json_writer::key(std::string_view k) {
  impl_->prefix();
  if (!append_plain_json_string(impl_->out, k, ':')) {
    append_json_string(impl_->out, k);
    impl_->out.push_back(':');
  }
  impl_->after_key = true;
}
void json_writer::string(std::string_view v) {
  impl_->prefix();
  if (!append_plain_json_string(impl_->out, v, '\0')) append_json_string(impl_->out, v);
}
void json_writer::int64(std::int64_t v) {
  impl_->integer(v);
}
void json_writer::uint64(std::uint64_t v) {
  impl_->integer(v);
}
void json_writer::number(double v) {
  if (!std::isfinite(v)) throw error(errc::invalid_argument, "JSON cannot carry NaN or infinity");
  impl_->prefix();
  char buf[32];
  // RapidJSON's shortest round-trip form (Grisu2), as its writer printed: 59.98, 3.0, 1e21.
  const char* end = rapidjson::internal::dtoa(v, buf);
  impl_->out.append(buf, static_cast<std::size_t>(end - buf));
}
void json_writer::boolean(bool v) {
  impl_->prefix();
  impl_->out.append(v ? "true" : "false");
}
void json_writer::null() {
  impl_->prefix();
  impl_->out.append("null");
}
void json_writer::raw(std::string_view json) {
  impl_->prefix();
  impl_->out.append(json);
}
void json_writer::cents(std::int64_t v) {
  char buf[32];
  const bool neg = v < 0;
  std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  char* end = buf + sizeof buf;
  char* p = end;
  *--p = static_cast<char>('0' + u % 10);
  u /= 10;
  *--p = static_cast<char>('0' + u % 10);
  u /= 10;
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (neg) *--p = '-';
  impl_->prefix();
  impl_->out.append(p, end);
}
std::string_view json_writer::view() const {
  return impl_->out;
}
void json_writer::clear() {
  impl_->reset();
}
std::string json_writer::take() {
  std::string text = std::move(impl_->out);
  clear();
  return text;
}

namespace {
const rapidjson::Value& v(const void* p) {
  return *static_cast<const rapidjson::Value*>(p);
}
}  // namespace

bool json_view::is_null() const noexcept {
  return value_ && v(value_).IsNull();
}
bool json_view::is_object() const noexcept {
  return value_ && v(value_).IsObject();
}
bool json_view::is_array() const noexcept {
  return value_ && v(value_).IsArray();
}
bool json_view::is_string() const noexcept {
  return value_ && v(value_).IsString();
}
bool json_view::is_bool() const noexcept {
  return value_ && v(value_).IsBool();
}
bool json_view::is_number() const noexcept {
  return value_ && v(value_).IsNumber();
}
bool json_view::is_integer() const noexcept {
  return value_ && v(value_).IsInt64();
}

std::string_view json_view::as_string() const {
  return {v(value_).GetString(), v(value_).GetStringLength()};
}
bool json_view::as_bool() const {
  return v(value_).GetBool();
}
std::int64_t json_view::as_int64() const {
  return v(value_).GetInt64();
}
double json_view::as_double() const {
  return v(value_).GetDouble();
}

bool json_view::to_cents(std::int64_t& out) const {
  if (!is_number()) return false;
  if (is_integer()) {
    const auto i = as_int64();
    if (i > INT64_MAX / 100 || i < INT64_MIN / 100) return false;
    out = i * 100;
    return true;
  }
  const double d = as_double() * 100.0;
  if (!std::isfinite(d) || std::fabs(d) > 9.0e15) return false;
  const double r = std::round(d);
  if (std::fabs(d - r) > 1e-6 * std::max(1.0, std::fabs(d))) return false;
  out = static_cast<std::int64_t>(r);
  return true;
}

json_view json_view::operator[](std::string_view key) const {
  if (!is_object()) return {};
  const auto& obj = v(value_);
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
    if (std::string_view{it->name.GetString(), it->name.GetStringLength()} == key)
      return json_view{&it->value};
  }
  return {};
}

std::size_t json_view::size() const {
  if (is_array()) return v(value_).Size();
  if (is_object()) return v(value_).MemberCount();
  return 0;
}

json_view json_view::at(std::size_t i) const {
  if (!is_array() || i >= v(value_).Size()) return {};
  return json_view{&v(value_)[static_cast<SizeType>(i)]};
}

std::string_view json_view::member_key(std::size_t i) const {
  const auto& m = *(v(value_).MemberBegin() + static_cast<std::ptrdiff_t>(i));
  return {m.name.GetString(), m.name.GetStringLength()};
}

json_view json_view::member_value(std::size_t i) const {
  return json_view{&(v(value_).MemberBegin() + static_cast<std::ptrdiff_t>(i))->value};
}

std::string json_view::dump() const {
  if (!value_) return {};
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v(value_).Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

// Payloads are small: the DOM of a typical event fits the inline buffer, and so does the parse
// stack in its own, so a document costs one allocation instead of RapidJSON's default 64 KiB
// pool chunk plus a parse stack (which RapidJSON's default stack allocator also allocated and
// freed again on every parse). The text is parsed in situ from a private copy (strings unescaped
// in place, not copied character by character through a bounds-checked stream).
struct json_document::impl {
  using document = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                              rapidjson::MemoryPoolAllocator<>>;
  alignas(std::max_align_t) char buffer[2048];
  alignas(std::max_align_t) char stack_buffer[1024];
  rapidjson::MemoryPoolAllocator<> pool{buffer, sizeof buffer, 8192};
  // The parse stack's: RapidJSON "frees" the stack after each parse, a no-op for a pool, whose
  // memory recycle() then takes back whole.
  rapidjson::MemoryPoolAllocator<> stack_pool{stack_buffer, sizeof stack_buffer, 4096};
  document doc{&pool, 256, &stack_pool};
  std::string text;

  // Ready for the next parse, if worth keeping: the pools' extra chunks are freed, the user
  // buffers and a text buffer of up to 64 KiB kept.
  bool recycle() noexcept {
    doc.SetNull();
    pool.Clear();
    stack_pool.Clear();
    if (text.capacity() > 64 * 1024) return false;
    text.clear();
    return true;
  }
};

// `new impl` rather than make_unique: value-initialisation would zero the 2 KiB buffer first.
json_document::json_document(std::string_view text) {
  constexpr unsigned flags = rapidjson::kParseFullPrecisionFlag;
  constexpr unsigned validate = rapidjson::kParseValidateEncodingFlag;
  // A NUL byte is never valid JSON (outside strings, nor unescaped inside them), and parsers
  // that read up to a NUL would stop there and accept what came before it.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    throw error(errc::malformed_event,
                "not valid JSON at offset " + std::to_string(nul) + ": a NUL byte");
  if (auto& spare = spare_document<impl>(); spare)
    impl_ = std::move(spare);
  else
    impl_.reset(new impl);
  auto& doc = impl_->doc;
  impl_->text.assign(text);
  char* in = impl_->text.data();
  // UTF-8 validation is per character; pure ASCII (the usual payload) cannot fail it.
  if (detail::is_ascii(text))
    doc.ParseInsitu<flags>(in);
  else
    doc.ParseInsitu<flags | validate>(in);
  if (impl_->doc.HasParseError()) {
    throw error(errc::malformed_event, "not valid JSON at offset " +
                                           std::to_string(impl_->doc.GetErrorOffset()) + ": " +
                                           rapidjson::GetParseError_En(impl_->doc.GetParseError()));
  }
}
json_document::~json_document() {
  if (!impl_) return;
  if (auto& spare = spare_document<impl>(); !spare && impl_->recycle()) spare = std::move(impl_);
}
json_document::json_document(json_document&&) noexcept = default;
json_document& json_document::operator=(json_document&&) noexcept = default;

json_view json_document::root() const {
  return json_view{&impl_->doc};
}

// Appends `s` as a JSON string literal. Only '"', '\\' and control characters are escaped (as
// RapidJSON's writer does); other bytes, UTF-8 included, are copied in runs, found 8 bytes at a
// time - a string with nothing to escape is one copy.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";  // as RapidJSON writes it
  const auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  const char* const end = s.data() + s.size();
  const char* p = s.data();
  const char* run = p;  // the start of what is still to be copied as it is
  out.push_back('"');
  while (p != end) {
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (!needs_escape(w)) {
        p += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(*p++);
    if (plain(c)) continue;
    out.append(run, static_cast<std::size_t>(p - 1 - run));
    run = p;
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
  out.append(run, static_cast<std::size_t>(end - run));
  out.push_back('"');
}

}  // namespace eventshop
