// Private to eventshop::sqlite: reading stored envelopes without a general JSON parse.
//
// Every stored event (es_log_* tables) was written by eventshop::encode() (the bus encodes on
// publish; no other code inserts into those tables), so almost every stored envelope is in
// encode()'s canonical form: attributes in a fixed order, no whitespace, `data` last.
// decode_canonical() reads exactly that form with a single forward scan and applies the same checks
// as the strict decoder (non-empty id/source/type, RFC 3339 time, JSON content type,
// dataschemaversion >= 1, extension names, `data` a valid JSON object). Anything else - an escaped
// or non-ASCII attribute string, another attribute order, whitespace, a failed check - makes it
// return false, and the caller falls back to eventshop::decode(), which accepts every valid
// envelope and explains every invalid one. So the two never disagree on what they accept; the fast
// path only skips the generic machinery.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "eventshop/core/envelope.hpp"

namespace eventshop::sqlite::detail {

// True: `out` holds the envelope (as eventshop::decode would produce it). False: `json` is not
// in canonical form or does not pass a check; `out` is unspecified. Thread safety: reentrant.
bool decode_canonical(std::string_view json, envelope& out);

}  // namespace eventshop::sqlite::detail
