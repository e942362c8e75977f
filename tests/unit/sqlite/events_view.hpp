// Tests read the bus's events as one relation: es_events(topic_id, part, off, seq, key,
// envelope), a TEMP view (this connection only; the file is not changed) over the per-partition
// tables es_log_<topic>_<partition> of schema 5. Returns SQLITE_OK or the error code.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace eventshop::sqlite::testing {

inline int create_events_view(sqlite3* db) {
  std::string sql = "CREATE TEMP VIEW IF NOT EXISTS es_events AS ";
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT topic_id, part FROM es_partitions ORDER BY 1, 2", -1, &s,
                              nullptr);
  if (rc != SQLITE_OK) return rc;
  bool first = true;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const auto topic = std::to_string(sqlite3_column_int64(s, 0));
    const auto part = std::to_string(sqlite3_column_int64(s, 1));
    if (!first) sql += " UNION ALL ";
    first = false;
    sql += "SELECT " + topic + " AS topic_id, " + part +
           " AS part, off, seq, key, envelope FROM es_log_" + topic + "_" + part;
  }
  sqlite3_finalize(s);
  if (first)
    sql +=
        "SELECT 0 AS topic_id, 0 AS part, 0 AS off, 0 AS seq, '' AS key, x'' AS envelope "
        "WHERE 0";
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

}  // namespace eventshop::sqlite::testing
