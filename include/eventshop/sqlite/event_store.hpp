// eventshop/sqlite/event_store.hpp - the event store (core/event_store.hpp) on a SQLite file.
//
// Streams live in es_streams (current version) and es_store (position = global order, stream,
// version, envelope JSON). An append is one transaction that checks the expected version under
// SQLite's write lock, so two writers racing on one stream - threads or processes - cannot both
// win: the second gets errc::conflict. Appends can also join a service's unit of work
// (unit_of_work::append) to commit with its other writes and its outbox.
// Thread safety: safe (through the database's connection).
#pragma once

#include "eventshop/core/event_store.hpp"
#include "eventshop/sqlite/database.hpp"

namespace eventshop::sqlite {

class event_store final : public eventshop::event_store {
 public:
  explicit event_store(database& db) : db_(db) {}

  append_result append(std::string_view stream, std::int64_t expected,
                       const std::vector<envelope>& events) override;
  std::vector<stored_event> read_stream(
      std::string_view stream, std::int64_t after_version = 0,
      std::size_t max = std::numeric_limits<std::size_t>::max()) override;
  std::vector<stored_event> read_all(std::int64_t after_position = 0,
                                     std::size_t max = 1000) override;
  std::int64_t stream_version(std::string_view stream) override;
  std::int64_t head_position() override;
  void save_snapshot(const snapshot& s) override;
  std::optional<snapshot> load_snapshot(std::string_view stream) override;

 private:
  database& db_;
};

}  // namespace eventshop::sqlite
