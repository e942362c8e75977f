#include "inventory/inventory.hpp"

#include <algorithm>
#include <limits>

#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::services::inventory {

using namespace eventshop::ecommerce;

std::vector<StockItem> merge_items(const std::vector<StockItem>& items) {
  std::vector<StockItem> out;
  for (const auto& it : items) {
    auto found = std::find_if(out.begin(), out.end(),
                              [&](const StockItem& o) { return o.product_id == it.product_id; });
    if (found == out.end())
      out.push_back(it);
    else
      found->quantity += it.quantity;
  }
  return out;
}

inventory::inventory(const catalog& products, std::size_t history_limit)
    : history_limit_(history_limit) {
  for (const auto& p : products.products()) {
    product_state s;
    s.info = p;
    s.stock = p.initial_stock;
    s.low = s.stock <= p.alert_level;
    products_.push_back(std::move(s));
  }
}

product_state* inventory::find_locked(const std::string& id) {
  for (auto& p : products_)
    if (p.info.id == id) return &p;
  return nullptr;
}

void inventory::record_locked(movement m) {
  history_.push_back(std::move(m));
  while (history_.size() > history_limit_)
    history_.pop_front();
}

void inventory::check_low_locked(product_state& p, std::vector<LowStockDetected>* out) {
  const bool low_now = p.stock <= p.info.alert_level;
  if (low_now && !p.low && out)
    out->push_back(LowStockDetected{p.info.id, p.stock, p.info.alert_level});
  p.low = low_now;
}

reserve_outcome inventory::reserve(const std::string& order_id, const std::vector<StockItem>& items,
                                   const std::string& reservation_id, timestamp now) {
  reserve_outcome out;
  const auto merged = merge_items(items);
  std::lock_guard lock(mutex_);
  if (auto it = orders_.find(order_id); it != orders_.end()) {
    out.duplicate = true;
    out.confirmed = it->second.confirmed;
    return out;
  }
  // Check every line first: all or nothing.
  for (const auto& item : merged) {
    product_state* p = find_locked(item.product_id);
    if (!p || item.quantity <= 0 || p->stock < item.quantity) {
      out.rejection = InventoryRejected{order_id, item.product_id, item.quantity, p ? p->stock : 0,
                                        p ? "Insufficient stock" : "Unknown product"};
      orders_.emplace(order_id, reservation{{}, false, false});
      return out;
    }
  }
  for (const auto& item : merged) {
    product_state* p = find_locked(item.product_id);
    p->stock -= item.quantity;
    p->reserved += item.quantity;
    record_locked({p->info.id, "reserved", item.quantity, p->stock, order_id, now});
    std::vector<LowStockDetected> alerts;
    check_low_locked(*p, &alerts);
    for (auto& a : alerts) {
      alerts_.push_back(a);
      out.alerts.push_back(std::move(a));
    }
  }
  orders_.emplace(order_id, reservation{merged, true, false});
  out.confirmed = true;
  out.confirmation = InventoryConfirmed{order_id, merged, reservation_id};
  return out;
}

void inventory::rollback(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return;
  if (it->second.confirmed && !it->second.released) {
    for (const auto& item : it->second.items) {
      if (product_state* p = find_locked(item.product_id)) {
        p->stock += item.quantity;
        p->reserved -= item.quantity;
        check_low_locked(*p, nullptr);
      }
    }
  }
  orders_.erase(it);
}

std::optional<InventoryReleased> inventory::release(const std::string& order_id,
                                                    const std::string& reason, timestamp now) {
  std::lock_guard lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end() || !it->second.confirmed || it->second.released) return std::nullopt;
  it->second.released = true;
  for (const auto& item : it->second.items) {
    if (product_state* p = find_locked(item.product_id)) {
      p->stock += item.quantity;
      p->reserved -= item.quantity;
      record_locked({p->info.id, "released", item.quantity, p->stock, order_id, now});
      check_low_locked(*p, nullptr);
    }
  }
  return InventoryReleased{order_id, it->second.items, reason};
}

void inventory::unrelease(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end() || !it->second.released) return;
  it->second.released = false;
  for (const auto& item : it->second.items)
    if (product_state* p = find_locked(item.product_id)) {
      p->stock -= item.quantity;
      p->reserved += item.quantity;
      check_low_locked(*p, nullptr);
    }
}

StockReplenished inventory::restock(const std::string& product_id, int quantity, timestamp now) {
  if (quantity < 1 || quantity > 1'000'000)
    throw error(errc::invalid_argument, "quantity must be an integer from 1 to 1000000");
  std::lock_guard lock(mutex_);
  product_state* p = find_locked(product_id);
  if (!p) throw error(errc::not_found, "unknown product '" + product_id + "'");
  if (p->stock > std::numeric_limits<int>::max() / 2 - quantity)
    throw error(errc::invalid_argument, "restock would overflow the stock of '" + product_id + "'");
  p->stock += quantity;
  p->restocked += quantity;
  record_locked({p->info.id, "restocked", quantity, p->stock, {}, now});
  check_low_locked(*p, nullptr);
  return StockReplenished{product_id, quantity, p->stock};
}

void inventory::apply(const envelope& e) {
  std::lock_guard lock(mutex_);
  if (e.type == InventoryConfirmed::event_type) {
    const auto ev = decode_event<InventoryConfirmed>(e);
    if (orders_.contains(ev.order_id)) return;
    for (const auto& item : ev.items)
      if (product_state* p = find_locked(item.product_id)) {
        p->stock -= item.quantity;
        p->reserved += item.quantity;
        record_locked({p->info.id, "reserved", item.quantity, p->stock, ev.order_id, e.time});
        check_low_locked(*p, nullptr);
      }
    orders_.emplace(ev.order_id, reservation{ev.items, true, false});
  } else if (e.type == InventoryRejected::event_type) {
    const auto ev = decode_event<InventoryRejected>(e);
    orders_.emplace(ev.order_id, reservation{{}, false, false});
  } else if (e.type == InventoryReleased::event_type) {
    const auto ev = decode_event<InventoryReleased>(e);
    auto it = orders_.find(ev.order_id);
    if (it != orders_.end() && it->second.released) return;
    for (const auto& item : ev.items)
      if (product_state* p = find_locked(item.product_id)) {
        p->stock += item.quantity;
        p->reserved -= item.quantity;
        record_locked({p->info.id, "released", item.quantity, p->stock, ev.order_id, e.time});
        check_low_locked(*p, nullptr);
      }
    if (it != orders_.end())
      it->second.released = true;
    else
      orders_.emplace(ev.order_id, reservation{ev.items, true, true});
  } else if (e.type == StockReplenished::event_type) {
    const auto ev = decode_event<StockReplenished>(e);
    if (product_state* p = find_locked(ev.product_id)) {
      p->stock += ev.quantity;
      p->restocked += ev.quantity;
      record_locked({p->info.id, "restocked", ev.quantity, p->stock, {}, e.time});
      check_low_locked(*p, nullptr);
    }
  } else if (e.type == LowStockDetected::event_type) {
    alerts_.push_back(decode_event<LowStockDetected>(e));
  }
}

std::vector<product_state> inventory::products() const {
  std::lock_guard lock(mutex_);
  return products_;
}

std::optional<product_state> inventory::product(const std::string& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& p : products_)
    if (p.info.id == id) return p;
  return std::nullopt;
}

std::map<std::string, int> inventory::stock_levels() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, int> out;
  for (const auto& p : products_)
    out[p.info.id] = p.stock;
  return out;
}

std::vector<product_state> inventory::low_stock() const {
  std::lock_guard lock(mutex_);
  std::vector<product_state> out;
  for (const auto& p : products_)
    if (p.low) out.push_back(p);
  return out;
}

std::vector<movement> inventory::history(const std::string& product_id, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<movement> out;
  for (auto it = history_.rbegin(); it != history_.rend() && out.size() < limit; ++it)
    if (product_id.empty() || it->product_id == product_id) out.push_back(*it);
  return out;
}

std::vector<LowStockDetected> inventory::alerts() const {
  std::lock_guard lock(mutex_);
  return alerts_;
}

bool inventory::decided(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  return orders_.contains(order_id);
}

}  // namespace eventshop::services::inventory
