// eventshop/core/time.hpp - RFC 3339 timestamps as CloudEvents and the contract use them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace eventshop {

using timestamp = std::chrono::system_clock::time_point;

// "2026-11-23T10:00:00.123Z": UTC, millisecond precision (sub-millisecond digits dropped).
std::string format_rfc3339(timestamp t);
// Appends the same 24 characters to `out` without a temporary.
void append_rfc3339(std::string& out, timestamp t);
// Writes exactly 24 characters (no terminator) to `buf`.
void write_rfc3339(char* buf, timestamp t) noexcept;

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (also lowercase t/z). Returns nullopt
// for anything else, including out-of-range fields such as month 13 or hour 24.
std::optional<timestamp> parse_rfc3339(std::string_view text);

}  // namespace eventshop
