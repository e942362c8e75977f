// services/notification/notification.hpp - the notification domain: which customer message an
// event deserves (CONTRACT §2 kinds order_confirmed, order_failed, order_cancelled,
// order_shipped), each sent once per order and kind, kept and listable. No transport.
//
// Kept notifications are bounded (`capacity`, oldest dropped first); the once-per-(order, kind)
// memory is not. State is a fold over the notification topic (apply()).
// Thread safety: safe (one mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/compact_text.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services::notification {

class notifications {
 public:
  explicit notifications(std::size_t capacity = 100'000) : capacity_(capacity) {}

  // The notification an incoming event calls for, or nullopt (not a notifying event, or sent
  // before). Records it as sent; rollback() forgets it if it could not be published.
  std::optional<ecommerce::NotificationSent> on_event(const envelope& e, timestamp now);
  void rollback(const std::string& order_id, const std::string& kind);

  void apply(const envelope& e);  // replay of NotificationSent

  // Newest first; `order_id` "" = all.
  std::vector<ecommerce::NotificationSent> list(const std::string& order_id,
                                                std::size_t limit) const;
  std::size_t size() const;

 private:
  bool record_locked(const ecommerce::NotificationSent& n);
  bool mark_sent_locked(const std::string& order_id, const std::string& kind);
  void unmark_sent_locked(const std::string& order_id, const std::string& kind);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  // A kept notification: the order id inline and the message in one block - one allocation and
  // ~230 bytes instead of two and ~300 (list() makes NotificationSent values from them).
  struct kept {
    inline_id order_id;
    std::string kind;     // short: inline
    std::string channel;  // short: inline
    shared_text message;
    timestamp sent_at{};
  };
  static ecommerce::NotificationSent to_event(const kept& k);
  std::deque<kept> kept_;
  // What each order was sent: one entry per order (its id inline) with a bit per CONTRACT kind -
  // ~100 bytes per order instead of a set node and a heap copy of the id per notification
  // (~320 bytes per shipped order). Other kinds (only ever replayed, never made here) aside.
  std::map<inline_id, std::uint8_t, text_less> sent_;
  std::set<std::pair<std::string, std::string>, std::less<>> other_sent_;
};

}  // namespace eventshop::services::notification
