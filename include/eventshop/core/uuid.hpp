// eventshop/core/uuid.hpp - UUIDv7 event ids (RFC 9562).
//
// 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids generated in the same
// millisecond on one thread strictly increasing, then 62 random bits. Ids sort by creation time,
// which keeps database indexes on them append-mostly. Thread safety: safe (per-thread state).
#pragma once

#include <string>
#include <string_view>

#include "eventshop/core/clock.hpp"

namespace eventshop {

// A new lowercase, hyphenated UUIDv7 ("0192f0c4-6b1e-7c3a-9d2f-...").
std::string new_uuid_v7(const clock& c = clock::system());

// True when `text` is a hyphenated UUID (any version) in lowercase or uppercase hex.
bool is_uuid(std::string_view text) noexcept;

// Random lowercase hex of `n` characters from the per-thread generator (request ids, trace ids).
std::string random_hex(size_t n);

}  // namespace eventshop
