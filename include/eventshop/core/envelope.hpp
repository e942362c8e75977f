// eventshop/core/envelope.hpp - the CloudEvents 1.0 envelope every eventshop event travels in.
//
// An `envelope` holds the context attributes of CONTRACT §1 and the payload as JSON text. It is
// a plain value: copy it, move it, compare it. Encoding to and decoding from the structured JSON
// form lives in codec.hpp; typed payloads in event.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "eventshop/core/time.hpp"

namespace eventshop {

struct envelope {
  std::string id;       // UUIDv7, unique per event
  std::string source;   // "/eventshop/<service>"
  std::string type;     // catalog name, e.g. "OrderCreated"
  std::string subject;  // aggregate key (order id); also the partition key
  timestamp time{};     // when it happened (ms precision on the wire)
  std::string datacontenttype = "application/json";
  std::int64_t dataschemaversion = 1;  // schema version of `data`
  std::string correlationid;           // shared by all events of one saga ("" = none)
  std::string causationid;             // the event or request that caused this one ("" = none)
  std::string traceparent;             // W3C trace context ("" = none)
  std::map<std::string, std::string, std::less<>> extensions;  // any other extension attributes
  std::string data = "{}";                                     // the payload, JSON text (an object)

  // The partition key: the subject, or the id when an event has no subject.
  const std::string& key() const noexcept { return subject.empty() ? id : subject; }

  friend bool operator==(const envelope&, const envelope&) = default;
};

}  // namespace eventshop
