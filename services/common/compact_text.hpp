// services/common/compact_text.hpp - small text types for state kept per order. In a process that
// keeps every order (the read model keeps ~6 timeline entries per order), every byte of state is
// paid for in fresh pages the kernel has to fault in and zero, and every std::string longer than
// 15 characters is one more heap block:
// - catalog_name: the name of an event type or topic as a 2-byte index into a process-wide table
//   of names (the catalog's topics and types are in it from the start, other names are added on
//   first use and never freed; at most 4,096 names - the constructor throws std::length_error
//   beyond);
// - inline_id: an event id, inline up to 38 characters (a UUIDv7 has 36), on the heap beyond;
// - shared_text: immutable text in one heap block shared by its copies (a reference count), the
//   size of a pointer.
// All three convert to std::string_view and compare with strings.
// Thread safety: catalog_name may be made and read on any thread; inline_id and shared_text are
// values (copies of one shared_text may be used and destroyed on different threads).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <string_view>
#include <utility>

namespace eventshop::services {

class catalog_name {
 public:
  constexpr catalog_name() noexcept = default;  // ""
  explicit catalog_name(std::string_view name);

  std::string_view view() const noexcept;
  operator std::string_view() const noexcept { return view(); }  // NOLINT: reads like a string
  bool empty() const noexcept { return index_ == 0; }

  friend bool operator==(catalog_name a, catalog_name b) noexcept { return a.index_ == b.index_; }
  friend bool operator==(catalog_name a, std::string_view b) noexcept { return a.view() == b; }

 private:
  std::uint16_t index_ = 0;
};

class inline_id {
 public:
  static constexpr std::size_t inline_capacity = 38;

  inline_id() noexcept { buf_[0] = '\0'; }
  explicit inline_id(std::string_view s) { init(s); }
  inline_id(const inline_id& o) { init(o.view()); }
  inline_id(inline_id&& o) noexcept {
    std::memcpy(buf_, o.buf_, sizeof buf_);
    tag_ = o.tag_;
    o.tag_ = 0;
  }
  inline_id& operator=(const inline_id& o) {
    if (this != &o) {
      inline_id copy(o);
      swap(copy);
    }
    return *this;
  }
  inline_id& operator=(inline_id&& o) noexcept {
    inline_id moved(std::move(o));
    swap(moved);
    return *this;
  }
  ~inline_id() { release(); }

  std::string_view view() const noexcept {
    if (tag_ != heap_tag) return {buf_, tag_};
    const char* p = nullptr;
    std::size_t n = 0;
    std::memcpy(&p, buf_, sizeof p);
    std::memcpy(&n, buf_ + sizeof p, sizeof n);
    return {p, n};
  }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: reads like a string
  std::size_t size() const noexcept { return view().size(); }

  // Compares the last 8 bytes first: UUIDv7 ids of one period share a long time prefix.
  friend bool operator==(const inline_id& a, std::string_view b) noexcept {
    const std::string_view s = a.view();
    if (s.size() != b.size()) return false;
    if (s.size() >= 8 && std::memcmp(s.data() + s.size() - 8, b.data() + b.size() - 8, 8) != 0)
      return false;
    return s == b;
  }
  friend bool operator==(const inline_id& a, const inline_id& b) noexcept { return a == b.view(); }

 private:
  static constexpr unsigned char heap_tag = 0xff;
  void init(std::string_view s);
  void release() noexcept;
  void swap(inline_id& o) noexcept {
    char b[sizeof buf_];
    std::memcpy(b, buf_, sizeof b);
    std::memcpy(buf_, o.buf_, sizeof b);
    std::memcpy(o.buf_, b, sizeof b);
    const unsigned char t = tag_;
    tag_ = o.tag_;
    o.tag_ = t;
  }

  // Inline: the characters, tag_ = their count. Heap: a char* and a size_t, tag_ = heap_tag.
  alignas(8) char buf_[inline_capacity + 1];
  unsigned char tag_ = 0;
};

class shared_text {
 public:
  shared_text() noexcept = default;  // ""
  explicit shared_text(std::string_view s);
  shared_text(const shared_text& o) noexcept;
  shared_text(shared_text&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
  shared_text& operator=(const shared_text& o) noexcept {
    shared_text copy(o);
    std::swap(block_, copy.block_);
    return *this;
  }
  shared_text& operator=(shared_text&& o) noexcept {
    std::swap(block_, o.block_);
    return *this;
  }
  ~shared_text() { release(); }

  std::string_view view() const noexcept;
  operator std::string_view() const noexcept { return view(); }  // NOLINT: reads like a string
  std::size_t size() const noexcept { return view().size(); }

  friend bool operator==(const shared_text& a, std::string_view b) noexcept {
    return a.view() == b;
  }

 private:
  struct block;
  void release() noexcept;
  block* block_ = nullptr;
};

// a < b as std::string_view orders them (bytes as unsigned, then length), 8 bytes per step and
// inline: ordered containers keyed by ids compare UUIDv7s, whose first ~10 characters (the time)
// are mostly equal - through memcmp that was 8 % of the pipeline's CPU in perf.
inline bool text_before(std::string_view a, std::string_view b) noexcept {
  static_assert(std::endian::native == std::endian::little, "byte-swapped 8-byte loads");
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y);
  }
  for (; i < n; ++i)
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  return a.size() < b.size();
}

// Orders any of these (and strings) by their text: for ordered containers keyed by inline_id,
// looked up with any string.
struct text_less {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    return text_before(a, b);
  }
};

std::ostream& operator<<(std::ostream& os, catalog_name n);
std::ostream& operator<<(std::ostream& os, const inline_id& id);
std::ostream& operator<<(std::ostream& os, const shared_text& t);

}  // namespace eventshop::services
