// services/inventory/inventory.hpp - the inventory domain: stock per product, all-or-nothing
// reservation per order, release, restock and low-stock alerts. No transport in here.
//
// Invariants, whatever the concurrency: stock never goes negative and is never oversold (every
// change happens under one mutex); a multi-item order is reserved entirely or not at all; an
// order is decided once (a second reserve() for it returns the first decision, marked
// duplicate) and released at most once. stock + reserved-and-not-released = initial + restocked.
//
// The state is a fold over the inventory topic: apply() takes the events this class produced
// (InventoryConfirmed/Rejected/Released, StockReplenished, LowStockDetected) and rebuilds the
// same state, which is how the service recovers after a restart.
// Thread safety: safe (one mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/catalog.hpp"
#include "common/compact_text.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services::inventory {

using ecommerce::StockItem;

struct product_state {
  product_info info;
  int stock = 0;
  int reserved = 0;   // held by confirmed orders not yet released
  int restocked = 0;  // total added by restock
  bool low = false;   // at or below its alert level
};

// One stock movement, for GET /v1/products/{id}/history.
struct movement {
  std::string product_id;
  std::string kind;  // "reserved", "released", "restocked"
  int quantity = 0;
  int stock_after = 0;
  std::string order_id;  // "" for restocks
  timestamp at{};
};

struct reserve_outcome {
  bool confirmed = false;
  bool duplicate = false;                      // the order was decided before; nothing changed now
  ecommerce::InventoryConfirmed confirmation;  // when confirmed
  ecommerce::InventoryRejected rejection;      // when rejected
  std::vector<ecommerce::LowStockDetected> alerts;  // products that fell to their alert level
};

class inventory {
 public:
  explicit inventory(const catalog& products, std::size_t history_limit = 10'000);

  // Reserves every item of `order_id` or none. `items` with the same product are summed.
  // Quantities must be >= 1 (the order service validated them; a bad one is rejected here too).
  reserve_outcome reserve(const std::string& order_id, const std::vector<StockItem>& items,
                          const std::string& reservation_id, timestamp now);

  // Gives back what `order_id` holds; nullopt when it holds nothing (never reserved, rejected,
  // or already released).
  std::optional<ecommerce::InventoryReleased> release(const std::string& order_id,
                                                      const std::string& reason, timestamp now);

  // Adds `quantity` (1..1,000,000) to a product. Throws eventshop::error(not_found) for an
  // unknown product, invalid_argument for a bad quantity or a stock that would overflow.
  ecommerce::StockReplenished restock(const std::string& product_id, int quantity, timestamp now);

  // Undoes a release() whose InventoryReleased could not be published (the stock is held again).
  void unrelease(const std::string& order_id);

  // Undoes a reserve() whose outgoing event could not be published (stock back, order
  // undecided), so a redelivery decides it again.
  void rollback(const std::string& order_id);

  // Rebuilds state from one event of the inventory topic (replay). Unrelated types are ignored.
  void apply(const envelope& e);

  std::vector<product_state> products() const;
  std::optional<product_state> product(const std::string& id) const;
  std::map<std::string, int> stock_levels() const;
  std::vector<product_state> low_stock() const;
  std::vector<movement> history(const std::string& product_id, std::size_t limit) const;
  std::vector<ecommerce::LowStockDetected> alerts() const;  // every alert raised, oldest first
  bool decided(const std::string& order_id) const;

 private:
  struct reservation {
    std::vector<StockItem> items;
    bool confirmed = false;
    bool released = false;
  };
  product_state* find_locked(const std::string& id);
  void record_locked(movement m);
  void check_low_locked(product_state& p, std::vector<ecommerce::LowStockDetected>* out);

  mutable std::mutex mutex_;
  std::vector<product_state> products_;
  std::map<inline_id, reservation, text_less> orders_;  // the id inline: no heap copy per order
  std::deque<movement> history_;
  std::size_t history_limit_;
  std::vector<ecommerce::LowStockDetected> alerts_;
};

// Merges lines of the same product (first appearance order).
std::vector<StockItem> merge_items(const std::vector<StockItem>& items);

}  // namespace eventshop::services::inventory
