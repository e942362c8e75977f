// eventshop/core/json.hpp - a small JSON writer and a read-only JSON view, backed by RapidJSON in
// the compiled library so that public headers stay light.
//
// They are the vocabulary of typed events (event.hpp) and of upcasters. `json_writer` appends
// compact JSON to a string; `json_document` parses text and hands out `json_view`s into it.
// Thread safety: distinct objects safe, shared objects unsafe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace eventshop {

class json_writer {
 public:
  json_writer();
  ~json_writer();
  json_writer(const json_writer&) = delete;
  json_writer& operator=(const json_writer&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view k);
  void string(std::string_view v);
  void int64(std::int64_t v);
  void uint64(std::uint64_t v);
  void number(double v);
  void boolean(bool v);
  void null();
  void raw(std::string_view json);  // an already-encoded JSON value, inserted as is
  // Money: integer cents written as a number with two decimals (5998 -> 59.98).
  void cents(std::int64_t v);

  // The text so far, and a reset for reuse.
  std::string_view view() const;
  std::string str() const { return std::string(view()); }
  // The text, moved out; the writer is cleared for reuse.
  std::string take();
  void clear();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// A non-owning view of one JSON value inside a json_document. A default view is "absent".
class json_view {
 public:
  json_view() = default;

  bool present() const noexcept { return value_ != nullptr; }
  bool is_null() const noexcept;
  bool is_object() const noexcept;
  bool is_array() const noexcept;
  bool is_string() const noexcept;
  bool is_bool() const noexcept;
  bool is_number() const noexcept;
  bool is_integer() const noexcept;  // a number without fraction or exponent that fits int64

  std::string_view as_string() const;  // preconditions: the matching is_*() is true
  bool as_bool() const;
  std::int64_t as_int64() const;
  double as_double() const;
  // Exact cents from a decimal number with at most two decimals (59.98 -> 5998); false if the
  // number has more precision than a cent or does not fit.
  bool to_cents(std::int64_t& out) const;

  json_view operator[](std::string_view key) const;  // absent view when missing or not an object
  std::size_t size() const;                          // array elements or object members
  json_view at(std::size_t i) const;                 // array element
  // Object members in document order: calls f(key, view) for each.
  template <class F>
  void for_each_member(F&& f) const {
    for (std::size_t i = 0, n = size(); i < n; ++i)
      f(member_key(i), member_value(i));
  }
  std::string_view member_key(std::size_t i) const;
  json_view member_value(std::size_t i) const;

  // The value re-encoded as compact JSON text.
  std::string dump() const;

 private:
  friend class json_document;
  explicit json_view(const void* v) : value_(v) {}
  const void* value_ = nullptr;
};

// Owns a parsed document. Parse errors throw eventshop::error(errc::malformed_event) with the
// offset and reason; invalid UTF-8 is an error too.
class json_document {
 public:
  explicit json_document(std::string_view text);
  ~json_document();
  json_document(json_document&&) noexcept;
  json_document& operator=(json_document&&) noexcept;

  json_view root() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Appends `s` to `out` as a JSON string literal, quotes included. Escapes '"', '\\' and control
// characters; every other byte (UTF-8 included) is copied as it is.
void append_json_string(std::string& out, std::string_view s);

}  // namespace eventshop
