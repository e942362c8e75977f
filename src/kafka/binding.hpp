// Private: the CloudEvents Kafka protocol binding (binary and structured content modes).
#pragma once

#include <string>
#include <system_error>

#include "eventshop/core/envelope.hpp"
#include "handles.hpp"

namespace eventshop::kafka::detail {

inline constexpr const char* structured_content_type = "application/cloudevents+json";

// Binary mode: one ce_<attribute> header per present attribute plus content-type. The record
// value is e.data.
headers_ptr binary_headers(const envelope& e);

// Structured mode: only the content-type header; the value is eventshop::encode(e).
headers_ptr structured_headers();

// Reads either mode (structured when content-type starts with application/cloudevents).
// Returns {} and fills `out`, or the error with `problem` naming the header or attribute.
std::error_code decode_record(const rd_kafka_message_t& record, envelope& out, std::string& problem,
                              std::size_t max_bytes);

}  // namespace eventshop::kafka::detail
