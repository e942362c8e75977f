#include "common/compact_text.hpp"

#include <atomic>
#include <limits>
#include <mutex>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>

#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services {

// ---- catalog_name ----------------------------------------------------------------------------

namespace {

constexpr std::size_t max_names = 4096;

// Names are only ever added: a reader loads the count (acquire), then any slot below it.
struct name_table {
  std::mutex mutex;  // serialises additions
  std::atomic<std::size_t> count{0};
  std::atomic<const std::string*> names[max_names]{};

  name_table() {
    add_locked("");
    for (auto t : ecommerce::topics::all)
      add_locked(t);
    for (std::string_view t :
         {"OrderCreated", "InventoryConfirmed", "PaymentCompleted", "NotificationSent", "Shipped",
          "InventoryRejected", "PaymentFailed", "OrderCancellationRequested", "OrderCancelled",
          "OrderCancellationRejected", "PaymentRefunded", "InventoryReleased", "StockReplenished",
          "LowStockDetected"})
      add_locked(t);
  }

  std::size_t find(std::string_view name, std::size_t n) const noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const std::string* s = names[i].load(std::memory_order_relaxed);
      if (s->size() == name.size() && *s == name) return i;
    }
    return max_names;
  }

  std::size_t add_locked(std::string_view name) {
    const std::size_t n = count.load(std::memory_order_relaxed);
    if (n == max_names)
      throw std::length_error("more than 4096 distinct event type and topic names in one process");
    names[n].store(new std::string(name), std::memory_order_relaxed);  // never freed
    count.store(n + 1, std::memory_order_release);
    return n;
  }

  std::uint16_t intern(std::string_view name) {
    std::size_t i = find(name, count.load(std::memory_order_acquire));
    if (i == max_names) {
      std::lock_guard lock(mutex);
      i = find(name, count.load(std::memory_order_acquire));
      if (i == max_names) i = add_locked(name);
    }
    return static_cast<std::uint16_t>(i);
  }
};

name_table& table() {
  static name_table t;
  return t;
}

}  // namespace

catalog_name::catalog_name(std::string_view name) : index_(table().intern(name)) {}

std::string_view catalog_name::view() const noexcept {
  // Any index handed out was published before the catalog_name holding it could exist.
  return *table().names[index_].load(std::memory_order_acquire);
}

// ---- inline_id -------------------------------------------------------------------------------

void inline_id::init(std::string_view s) {
  if (s.size() <= inline_capacity) {
    std::memcpy(buf_, s.data(), s.size());
    tag_ = static_cast<unsigned char>(s.size());
    return;
  }
  char* p = new char[s.size()];
  std::memcpy(p, s.data(), s.size());
  const std::size_t n = s.size();
  std::memcpy(buf_, &p, sizeof p);
  std::memcpy(buf_ + sizeof p, &n, sizeof n);
  tag_ = heap_tag;
}

void inline_id::release() noexcept {
  if (tag_ != heap_tag) return;
  char* p = nullptr;
  std::memcpy(&p, buf_, sizeof p);
  delete[] p;
  tag_ = 0;
}

// ---- shared_text -----------------------------------------------------------------------------

struct shared_text::block {
  std::atomic<std::uint32_t> refs{1};
  std::uint32_t size = 0;
  char* text() noexcept { return reinterpret_cast<char*>(this + 1); }
};

shared_text::shared_text(std::string_view s) {
  if (s.empty()) return;
  if (s.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("shared_text: text over 4 GiB");
  void* mem = ::operator new(sizeof(block) + s.size());
  block_ = new (mem) block;
  block_->size = static_cast<std::uint32_t>(s.size());
  std::memcpy(block_->text(), s.data(), s.size());
}

shared_text::shared_text(const shared_text& o) noexcept : block_(o.block_) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

std::string_view shared_text::view() const noexcept {
  if (!block_) return {};
  return {block_->text(), block_->size};
}

void shared_text::release() noexcept {
  if (!block_) return;
  if (block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    block_->~block();
    ::operator delete(block_);
  }
  block_ = nullptr;
}

std::ostream& operator<<(std::ostream& os, catalog_name n) {
  return os << n.view();
}
std::ostream& operator<<(std::ostream& os, const inline_id& id) {
  return os << id.view();
}
std::ostream& operator<<(std::ostream& os, const shared_text& t) {
  return os << t.view();
}

}  // namespace eventshop::services
