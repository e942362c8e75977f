// services/common/catalog.hpp - the product catalog the reference services share (CONTRACT §3).
//
// The order service prices orders with it, inventory keeps stock of it and payment computes the
// amount it charges from it, so every service of one system must be given the same catalog.
// Thread safety: plain values; `catalog` is immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/event.hpp"

namespace eventshop::services {

struct product_info {
  std::string id;
  std::string name;
  money price;
  int initial_stock = 0;
  int alert_level = 0;  // LowStockDetected when stock falls to this level or below
};

// CONTRACT §3 defaults: product-1 "Premium Widget" 29.99/100/20, product-2 "Deluxe Gadget"
// 49.99/50/10, product-3 "Elite Device" 99.99/25/5.
std::vector<product_info> default_catalog();

class catalog {
 public:
  explicit catalog(std::vector<product_info> products = default_catalog());

  const std::vector<product_info>& products() const noexcept { return products_; }
  const product_info* find(std::string_view id) const noexcept;

  // Throws eventshop::error(invalid_argument) naming the problem: empty or duplicate ids,
  // negative prices, stock or alert levels.
  void validate() const;

 private:
  std::vector<product_info> products_;
};

// Order limits of CONTRACT §3.
inline constexpr int max_quantity = 1000;
inline constexpr int max_items = 50;

}  // namespace eventshop::services
