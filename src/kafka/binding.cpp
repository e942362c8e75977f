#include "binding.hpp"

#include <charconv>
#include <cstring>
#include <string_view>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop::kafka::detail {
namespace {

void add(rd_kafka_headers_t* h, const char* name, std::string_view value) {
  rd_kafka_header_add(h, name, -1, value.data(), static_cast<ssize_t>(value.size()));
}

std::error_code fail(errc code, std::string& problem, std::string text) {
  problem = std::move(text);
  return make_error_code(code);
}

}  // namespace

headers_ptr binary_headers(const envelope& e) {
  headers_ptr h(rd_kafka_headers_new(10 + e.extensions.size()));
  add(h.get(), "ce_specversion", "1.0");
  add(h.get(), "ce_id", e.id);
  add(h.get(), "ce_source", e.source);
  add(h.get(), "ce_type", e.type);
  if (!e.subject.empty()) add(h.get(), "ce_subject", e.subject);
  thread_local std::string time_text;
  time_text.clear();
  append_rfc3339(time_text, e.time);
  add(h.get(), "ce_time", time_text);
  add(h.get(), "content-type", e.datacontenttype);
  char version[24];
  const auto end = std::to_chars(version, version + sizeof(version), e.dataschemaversion).ptr;
  add(h.get(), "ce_dataschemaversion",
      std::string_view(version, static_cast<std::size_t>(end - version)));
  if (!e.correlationid.empty()) add(h.get(), "ce_correlationid", e.correlationid);
  if (!e.causationid.empty()) add(h.get(), "ce_causationid", e.causationid);
  if (!e.traceparent.empty()) add(h.get(), "ce_traceparent", e.traceparent);
  std::string name;
  for (const auto& [key, value] : e.extensions) {
    name.assign("ce_").append(key);
    add(h.get(), name.c_str(), value);
  }
  return h;
}

headers_ptr structured_headers() {
  headers_ptr h(rd_kafka_headers_new(1));
  add(h.get(), "content-type", structured_content_type);
  return h;
}

std::error_code decode_record(const rd_kafka_message_t& record, envelope& out, std::string& problem,
                              std::size_t max_bytes) {
  rd_kafka_headers_t* hdrs = nullptr;
  // The headers belong to the message; rd_kafka_message_headers needs a non-const pointer.
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&record), &hdrs) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    hdrs = nullptr;
  const std::string_view value =
      record.payload ? std::string_view(static_cast<const char*>(record.payload), record.len)
                     : std::string_view();
  std::size_t total = value.size();

  std::string_view content_type;
  bool has_content_type = false;
  if (hdrs) {
    const void* v = nullptr;
    std::size_t n = 0;
    if (rd_kafka_header_get_last(hdrs, "content-type", &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v) {
      content_type = std::string_view(static_cast<const char*>(v), n);
      has_content_type = true;
    }
  }
  if (has_content_type && content_type.starts_with("application/cloudevents")) {
    if (!content_type.starts_with(structured_content_type))
      return fail(errc::wrong_type, problem,
                  "header 'content-type': only application/cloudevents+json is supported, got '" +
                      std::string(content_type) + "'");
    const auto ec = decode(value, out, problem, codec_limits{.max_envelope_bytes = max_bytes});
    return ec;
  }

  out = envelope{};
  out.datacontenttype.clear();
  bool have_spec = false, have_id = false, have_source = false, have_type = false,
       have_time = false;
  if (hdrs) {
    const char* name = nullptr;
    const void* v = nullptr;
    std::size_t n = 0;
    for (std::size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      total += std::strlen(name) + n;
      const std::string_view key(name);
      if (!key.starts_with("ce_")) continue;
      const std::string_view attr = key.substr(3);
      if (!v)
        return fail(errc::wrong_type, problem, "header '" + std::string(key) + "': null value");
      const std::string_view text(static_cast<const char*>(v), n);
      if (attr == "specversion") {
        if (text != "1.0")
          return fail(
              errc::wrong_type, problem,
              "header 'ce_specversion': expected \"1.0\", got \"" + std::string(text) + "\"");
        have_spec = true;
      } else if (attr == "id") {
        out.id = text;
        have_id = !text.empty();
      } else if (attr == "source") {
        out.source = text;
        have_source = !text.empty();
      } else if (attr == "type") {
        out.type = text;
        have_type = !text.empty();
      } else if (attr == "subject") {
        out.subject = text;
      } else if (attr == "time") {
        const auto t = parse_rfc3339(text);
        if (!t)
          return fail(errc::wrong_type, problem,
                      "header 'ce_time': expected an RFC 3339 timestamp, got \"" +
                          std::string(text) + "\"");
        out.time = *t;
        have_time = true;
      } else if (attr == "dataschemaversion") {
        std::int64_t version = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
        if (ec != std::errc{} || p != text.data() + text.size() || version < 1)
          return fail(errc::wrong_type, problem,
                      "header 'ce_dataschemaversion': expected an integer >= 1, got \"" +
                          std::string(text) + "\"");
        out.dataschemaversion = version;
      } else if (attr == "correlationid") {
        out.correlationid = text;
      } else if (attr == "causationid") {
        out.causationid = text;
      } else if (attr == "traceparent") {
        out.traceparent = text;
      } else if (attr == "datacontenttype" || attr == "data" || attr == "specversion") {
        return fail(errc::wrong_type, problem,
                    "header '" + std::string(key) + "': not allowed in binary mode");
      } else if (is_valid_extension_name(attr)) {
        out.extensions.insert_or_assign(std::string(attr), std::string(text));
      } else {
        return fail(errc::wrong_type, problem,
                    "header '" + std::string(key) +
                        "': extension names must be 1-20 characters a-z or 0-9");
      }
    }
  }
  if (total > max_bytes)
    return fail(errc::too_large, problem,
                "record of " + std::to_string(total) + " bytes is over the limit of " +
                    std::to_string(max_bytes));
  if (!have_spec)
    return fail(errc::missing_attribute, problem, "header 'ce_specversion' is missing");
  if (!have_id) return fail(errc::missing_attribute, problem, "header 'ce_id' is missing");
  if (!have_source) return fail(errc::missing_attribute, problem, "header 'ce_source' is missing");
  if (!have_type) return fail(errc::missing_attribute, problem, "header 'ce_type' is missing");
  if (!have_time) return fail(errc::missing_attribute, problem, "header 'ce_time' is missing");
  if (has_content_type) {
    if (!is_json_content_type(content_type))
      return fail(errc::wrong_type, problem,
                  "header 'content-type': only JSON payloads are supported, got '" +
                      std::string(content_type) + "'");
    out.datacontenttype = content_type;
  } else {
    out.datacontenttype = "application/json";
  }
  const auto first = value.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || value[first] != '{')
    return fail(errc::malformed_event, problem, "record value (data): must be a JSON object");
  out.data = value;
  return {};
}

}  // namespace eventshop::kafka::detail
