// eventshop/core/codec.hpp - structured-mode JSON encoding of envelopes (CloudEvents JSON format).
//
// Decoding is strict: every required attribute must be present with the right JSON type, the
// input must be valid UTF-8 JSON no larger than the limit, and the error names the attribute:
//   envelope attribute 'time': expected an RFC 3339 timestamp, got "yesterday"
// Required: specversion ("1.0"), id, source, type, time, data (a JSON object). Optional: subject,
// datacontenttype (must be JSON if present), dataschemaversion (integer >= 1, default 1),
// correlationid, causationid, traceparent; other extensions must be strings, numbers or booleans
// and are kept as text. Thread safety: all functions are safe to call concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

#include "eventshop/core/envelope.hpp"

namespace eventshop {

struct codec_limits {
  std::size_t max_envelope_bytes = 1 << 20;  // CONTRACT §1 default: 1 MiB
};

// Structured JSON. Throws eventshop::error(errc::too_large) over the limit, errc::malformed_event
// when `data` is not a JSON object.
std::string encode(const envelope& e, const codec_limits& limits = {});
// Appends to `out` (reuse one buffer in hot loops).
void encode_to(std::string& out, const envelope& e, const codec_limits& limits = {});

// Throws eventshop::error describing the first problem found.
envelope decode(std::string_view json, const codec_limits& limits = {});

// Non-throwing: fills `out` and returns {} on success, else the error code and, in `message`,
// the same text the throwing overload would use. `out` is unspecified on failure.
std::error_code decode(std::string_view json, envelope& out, std::string& message,
                       const codec_limits& limits = {});

// Checks the attribute values of an envelope built in code (what decode checks on the wire):
// non-empty id/source/type, JSON content type, version >= 1, extension names [a-z0-9]{1,20}.
// Throws eventshop::error naming the attribute.
void validate(const envelope& e);

// The rules validate() and decode() apply, for other bindings (Kafka headers) to share:
// a JSON media type ("application/json", "text/json", "*+json", parameters allowed), and a
// CloudEvents extension name (1-20 characters of a-z and 0-9).
bool is_json_content_type(std::string_view content_type) noexcept;
bool is_valid_extension_name(std::string_view name) noexcept;

}  // namespace eventshop
