// WebSocket framing (RFC 6455) for the server side: unmasked frames out, masked frames in.
// Private to eventshop::realtime. Server frames are encoded once and the same bytes are written
// to every connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace eventshop::realtime::ws {

enum opcode : std::uint8_t {
  op_continuation = 0x0,
  op_text = 0x1,
  op_binary = 0x2,
  op_close = 0x8,
  op_ping = 0x9,
  op_pong = 0xA
};

// A complete unmasked frame with FIN set.
std::string encode(opcode op, std::string_view payload);
// The header alone (2..10 bytes) for a payload of `size`.
std::string header(opcode op, std::size_t size);
// A close frame with a status code and reason (truncated to fit 125 bytes).
std::string close_frame(std::uint16_t code, std::string_view reason);

// Result of decoding the front of a byte buffer.
struct decoded {
  enum class status { need_more, frame, protocol_error, too_big } st = status::need_more;
  bool fin = false;
  opcode op = op_text;
  std::size_t consumed = 0;  // bytes of the whole frame (header + payload)
  std::string payload;       // unmasked
  std::string error;         // for protocol_error
};

// Decodes one client frame (must be masked) from `buf`. `max_payload` bounds a data frame.
decoded decode(std::string_view buf, std::size_t max_payload);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (24 base64 characters); "" when the key is bad.
std::string accept_key(std::string_view key);

}  // namespace eventshop::realtime::ws
