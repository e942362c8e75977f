// eventshop/core/event.hpp - typed events: declare a struct once, get its JSON codec.
//
//   struct OrderShipped {
//     EVENTSHOP_EVENT_TYPE("OrderShipped", 1);   // type name and schema version
//     std::string order_id;
//     eventshop::money amount;
//     std::vector<std::string> parcels;
//     std::optional<std::string> note;           // optional: may be absent on the wire
//   };
//   EVENTSHOP_FIELDS(OrderShipped, order_id, amount, parcels, note)
//
// EVENTSHOP_FIELDS also works for plain value structs used inside events (no type name). Field
// types: std::string, integers, double, bool, eventshop::money, eventshop::timestamp,
// std::vector<T>, std::optional<T>, and other EVENTSHOP_FIELDS structs. Decoding is strict: a
// missing non-optional field or a wrong JSON type throws eventshop::error naming the path
// ("data.items[1].quantity: expected an integer"); unknown fields are ignored, so producers may
// add fields without breaking older consumers.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop {

// An amount of money in integer cents; on the wire a JSON number with two decimals.
struct money {
  std::int64_t cents = 0;

  static constexpr money from_cents(std::int64_t c) noexcept { return money{c}; }
  double as_double() const noexcept { return static_cast<double>(cents) / 100.0; }
  std::string to_string() const;  // "59.98"
  friend constexpr auto operator<=>(const money&, const money&) = default;
  friend constexpr money operator+(money a, money b) noexcept { return {a.cents + b.cents}; }
  friend constexpr money operator*(money a, std::int64_t n) noexcept { return {a.cents * n}; }
};

#define EVENTSHOP_EVENT_TYPE(name, version)            \
  static constexpr std::string_view event_type = name; \
  static constexpr std::int64_t schema_version = version

namespace detail {

template <class T, class M>
struct field_ref {
  std::string_view name;
  M T::*member;
};
template <class T, class M>
constexpr field_ref<T, M> make_field(std::string_view name, M T::*member) {
  return {name, member};
}

// A chain of path segments, only turned into text when an error is reported.
struct json_path {
  const json_path* parent = nullptr;
  std::string_view key;
  std::size_t index = 0;
  bool is_index = false;
  std::string str() const;
};
[[noreturn]] void throw_field_error(errc code, const json_path& path, std::string_view what);

}  // namespace detail

template <class T>
concept has_fields = requires(const T* p) {
  eventshop_fields(p);
};

template <class T>
concept typed_event = has_fields<T> && requires {
  { T::event_type } -> std::convertible_to<std::string_view>;
  { T::schema_version } -> std::convertible_to<std::int64_t>;
};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

// ---- writing -------------------------------------------------------------------------------
template <class T>
void write_json(json_writer& w, const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
    w.string(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.boolean(value);
  } else if constexpr (std::is_integral_v<T>) {
    w.int64(static_cast<std::int64_t>(value));
  } else if constexpr (std::is_floating_point_v<T>) {
    w.number(static_cast<double>(value));
  } else if constexpr (std::is_same_v<T, money>) {
    w.cents(value.cents);
  } else if constexpr (std::is_same_v<T, timestamp>) {
    char text[24];  // no temporary string: 24 characters do not fit a std::string inline
    write_rfc3339(text, value);
    w.string(std::string_view(text, sizeof text));
  } else if constexpr (is_optional<T>::value) {
    if (value)
      write_json(w, *value);
    else
      w.null();
  } else if constexpr (is_vector<T>::value) {
    w.begin_array();
    for (const auto& item : value)
      write_json(w, item);
    w.end_array();
  } else if constexpr (has_fields<T>) {
    w.begin_object();
    std::apply(
        [&](const auto&... f) {
          auto one = [&](const auto& fr) {
            const auto& member = value.*(fr.member);
            if constexpr (is_optional<std::decay_t<decltype(member)>>::value) {
              if (!member) return;  // absent optional fields are omitted
            }
            w.key(fr.name);
            write_json(w, member);
          };
          (one(f), ...);
        },
        eventshop_fields(static_cast<const T*>(nullptr)));
    w.end_object();
  } else {
    static_assert(sizeof(T) == 0, "eventshop: no JSON mapping for this field type");
  }
}

// ---- reading -------------------------------------------------------------------------------
template <class T>
void read_json(json_view v, T& out, const detail::json_path& path) {
  using detail::throw_field_error;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw_field_error(errc::wrong_type, path, "expected a string");
    out.assign(v.as_string());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) throw_field_error(errc::wrong_type, path, "expected a boolean");
    out = v.as_bool();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_integer()) throw_field_error(errc::wrong_type, path, "expected an integer");
    const std::int64_t i = v.as_int64();
    if (!std::in_range<T>(i)) throw_field_error(errc::wrong_type, path, "integer out of range");
    out = static_cast<T>(i);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) throw_field_error(errc::wrong_type, path, "expected a number");
    out = static_cast<T>(v.as_double());
  } else if constexpr (std::is_same_v<T, money>) {
    if (!v.to_cents(out.cents))
      throw_field_error(errc::wrong_type, path, "expected an amount with at most two decimals");
  } else if constexpr (std::is_same_v<T, timestamp>) {
    if (!v.is_string()) throw_field_error(errc::wrong_type, path, "expected an RFC 3339 string");
    const auto t = parse_rfc3339(v.as_string());
    if (!t) throw_field_error(errc::wrong_type, path, "expected an RFC 3339 timestamp");
    out = *t;
  } else if constexpr (is_optional<T>::value) {
    if (!v.present() || v.is_null()) {
      out.reset();
    } else {
      out.emplace();
      read_json(v, *out, path);
    }
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array()) throw_field_error(errc::wrong_type, path, "expected an array");
    const std::size_t n = v.size();
    out.clear();
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      read_json(v.at(i), out[i], detail::json_path{&path, {}, i, true});
  } else if constexpr (has_fields<T>) {
    if (!v.is_object()) throw_field_error(errc::wrong_type, path, "expected an object");
    std::apply(
        [&](const auto&... f) {
          auto one = [&](const auto& fr) {
            auto& member = out.*(fr.member);
            const detail::json_path child{&path, fr.name};
            const json_view fv = v[fr.name];
            if constexpr (!is_optional<std::decay_t<decltype(member)>>::value) {
              if (!fv.present()) throw_field_error(errc::missing_attribute, child, "is required");
            }
            read_json(fv, member, child);
          };
          (one(f), ...);
        },
        eventshop_fields(static_cast<const T*>(nullptr)));
  } else {
    static_assert(sizeof(T) == 0, "eventshop: no JSON mapping for this field type");
  }
}

// The payload of a typed event as JSON text, and back. decode_data throws eventshop::error.
template <has_fields T>
std::string encode_data(const T& value) {
  json_writer w;
  write_json(w, value);
  return w.take();
}

template <has_fields T>
T decode_data(json_view root) {
  T out{};
  read_json(root, out, detail::json_path{nullptr, "data"});
  return out;
}

template <has_fields T>
T decode_data(std::string_view json) {
  const json_document doc(json);
  return decode_data<T>(doc.root());
}

}  // namespace eventshop

// ---- EVENTSHOP_FIELDS(Type, field...) ------------------------------------------------------
// Up to 24 fields. Expands to a constexpr function found by argument-dependent lookup.
#define EVENTSHOP_DETAIL_F(T, m) ::eventshop::detail::make_field(#m, &T::m)
#define EVENTSHOP_DETAIL_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, \
                           _17, _18, _19, _20, _21, _22, _23, _24, N, ...)                        \
  N
#define EVENTSHOP_DETAIL_COUNT(...)                                                              \
  EVENTSHOP_DETAIL_N(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, \
                     8, 7, 6, 5, 4, 3, 2, 1)
#define EVENTSHOP_DETAIL_CAT2(a, b) a##b
#define EVENTSHOP_DETAIL_CAT(a, b) EVENTSHOP_DETAIL_CAT2(a, b)
#define EVENTSHOP_DETAIL_M1(T, a) EVENTSHOP_DETAIL_F(T, a)
#define EVENTSHOP_DETAIL_M2(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M1(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M3(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M2(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M4(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M3(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M5(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M4(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M6(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M5(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M7(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M6(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M8(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M7(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M9(T, a, ...) EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M8(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M10(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M9(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M11(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M10(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M12(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M11(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M13(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M12(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M14(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M13(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M15(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M14(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M16(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M15(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M17(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M16(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M18(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M17(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M19(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M18(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M20(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M19(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M21(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M20(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M22(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M21(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M23(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M22(T, __VA_ARGS__)
#define EVENTSHOP_DETAIL_M24(T, a, ...) \
  EVENTSHOP_DETAIL_F(T, a), EVENTSHOP_DETAIL_M23(T, __VA_ARGS__)

#define EVENTSHOP_FIELDS(Type, ...)                                                   \
  [[maybe_unused]] inline constexpr auto eventshop_fields(const Type*) noexcept {     \
    return std::make_tuple(EVENTSHOP_DETAIL_CAT(                                      \
        EVENTSHOP_DETAIL_M, EVENTSHOP_DETAIL_COUNT(__VA_ARGS__))(Type, __VA_ARGS__)); \
  }
