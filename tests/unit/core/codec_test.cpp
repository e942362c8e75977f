#include <gtest/gtest.h>

#include <string>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"

namespace eventshop {
namespace {

const std::string valid = R"({"specversion":"1.0","id":"0192f0c4-6b1e-7c3a-9d2f-0123456789ab",
  "source":"/eventshop/order","type":"OrderCreated","subject":"order-1",
  "time":"2026-11-23T10:00:00.123Z","datacontenttype":"application/json","dataschemaversion":1,
  "correlationid":"c-1","causationid":"req-1","traceparent":"00-abc-def-01","tenant":"acme",
  "data":{"order_id":"order-1","items":[{"product_id":"product-1","quantity":2}],"total":59.98}})";

// Decodes and returns the error message (empty on success).
std::string problem(const std::string& json, std::error_code* code = nullptr, codec_limits l = {}) {
  envelope e;
  std::string msg;
  const auto ec = decode(json, e, msg, l);
  if (code) *code = ec;
  return ec ? msg : std::string();
}

// `valid` with one attribute replaced (value = raw JSON) or removed (value empty).
std::string with(const std::string& attr, const std::string& value) {
  json_document doc(valid);
  std::string out = "{";
  bool first = true;
  doc.root().for_each_member([&](std::string_view k, json_view v) {
    std::string val = v.dump();
    if (k == attr) {
      if (value.empty()) return;
      val = value;
    }
    if (!first) out += ',';
    first = false;
    out += "\"" + std::string(k) + "\":" + val;
  });
  if (doc.root()[attr].present() == false && !value.empty()) out += ",\"" + attr + "\":" + value;
  return out + "}";
}

TEST(Codec, DecodesEveryAttribute) {
  const envelope e = decode(valid);
  EXPECT_EQ(e.id, "0192f0c4-6b1e-7c3a-9d2f-0123456789ab");
  EXPECT_EQ(e.source, "/eventshop/order");
  EXPECT_EQ(e.type, "OrderCreated");
  EXPECT_EQ(e.subject, "order-1");
  EXPECT_EQ(format_rfc3339(e.time), "2026-11-23T10:00:00.123Z");
  EXPECT_EQ(e.dataschemaversion, 1);
  EXPECT_EQ(e.correlationid, "c-1");
  EXPECT_EQ(e.causationid, "req-1");
  EXPECT_EQ(e.traceparent, "00-abc-def-01");
  EXPECT_EQ(e.extensions.at("tenant"), "acme");
  EXPECT_EQ(
      e.data,
      R"({"order_id":"order-1","items":[{"product_id":"product-1","quantity":2}],"total":59.98})");
}

TEST(Codec, EncodeDecodeRoundTrip) {
  const envelope e = decode(valid);
  const std::string text = encode(e);
  EXPECT_EQ(decode(text), e);
  EXPECT_NE(text.find(R"("specversion":"1.0")"), std::string::npos);
}

// Every byte that JSON requires escaped (controls, quote, backslash) and UTF-8 that it does not:
// the encoded text must be valid JSON (checked by the independent DOM parser) and decode back
// to the same strings.
TEST(Codec, StringsNeedingEscapesSurviveTheRoundTrip) {
  envelope e = decode(valid);
  std::string tricky = "q\"b\\s/ \u00e9\u65e5 ";
  for (char c = 1; c < 0x20; ++c)
    tricky.push_back(c);
  tricky.push_back('\0');
  tricky += "end";
  e.subject = tricky;
  e.source = "/eventshop/\x7f\"quoted\"";
  e.extensions["tenant"] = tricky;
  const std::string text = encode(e);
  json_document doc(text);
  EXPECT_EQ(doc.root()["subject"].as_string(), tricky);
  EXPECT_EQ(doc.root()["tenant"].as_string(), tricky);
  EXPECT_EQ(decode(text), e);
  EXPECT_NE(text.find(R"(\u0001)"), std::string::npos);
  EXPECT_NE(text.find(R"(\n)"), std::string::npos);
}

TEST(Codec, AFailedEncodeLeavesTheOutputAsItWas) {
  envelope e = decode(valid);
  std::string out = "prefix";
  e.data = "{\"blob\":\"" + std::string(2 << 20, 'x') + "\"}";
  EXPECT_THROW(encode_to(out, e), error);
  EXPECT_EQ(out, "prefix");
  e.data = "[1]";
  EXPECT_THROW(encode_to(out, e), error);
  EXPECT_EQ(out, "prefix");
  e.data = "{}";
  encode_to(out, e);
  EXPECT_EQ(decode(std::string_view(out).substr(6)), e);
}

TEST(Codec, OptionalAttributesMayBeAbsent) {
  std::string j = with("subject", "");
  j = j.substr(0, j.size());
  const envelope e = decode(with("datacontenttype", ""));
  EXPECT_EQ(e.datacontenttype, "application/json");
  EXPECT_EQ(decode(with("dataschemaversion", "")).dataschemaversion, 1);
  EXPECT_EQ(decode(with("subject", "")).subject, "");
  EXPECT_EQ(decode(with("correlationid", "")).correlationid, "");
}

TEST(Codec, EveryRequiredAttributeMissingIsNamed) {
  for (const char* attr : {"specversion", "id", "source", "type", "time", "data"}) {
    std::error_code ec;
    const std::string msg = problem(with(attr, ""), &ec);
    EXPECT_EQ(ec, make_error_code(errc::missing_attribute)) << attr;
    EXPECT_NE(msg.find(std::string("'") + attr + "'"), std::string::npos) << msg;
  }
}

TEST(Codec, WrongTypesAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"specversion", "1.0"},
      {"specversion", "\"0.3\""},
      {"id", "42"},
      {"id", "\"\""},
      {"source", "null"},
      {"type", "[\"x\"]"},
      {"subject", "{}"},
      {"time", "\"yesterday\""},
      {"time", "\"2026-13-01T00:00:00Z\""},
      {"time", "1700000000"},
      {"datacontenttype", "\"text/plain\""},
      {"dataschemaversion", "\"1\""},
      {"dataschemaversion", "0"},
      {"dataschemaversion", "1.5"},
      {"correlationid", "true"},
      {"causationid", "7"},
      {"traceparent", "{}"},
      {"data", "\"text\""},
      {"data", "[1,2]"},
      {"data", "null"},
      {"tenant", "{\"a\":1}"},
      {"tenant", "[1]"},
  };
  for (const auto& [attr, value] : cases) {
    std::error_code ec;
    const std::string msg = problem(with(attr, value), &ec);
    EXPECT_EQ(ec, make_error_code(errc::wrong_type)) << attr << "=" << value << ": " << msg;
    EXPECT_NE(msg.find(std::string("'") + attr + "'"), std::string::npos) << msg;
  }
}

TEST(Codec, MalformedJsonIsAClearErrorNotACrash) {
  const std::string cases[] = {
      "",
      "   ",
      "{",
      "[]",
      "\"just a string\"",
      "42",
      "null",
      "{\"id\":}",
      valid.substr(0, valid.size() / 2),
      valid + "garbage",
      valid + "{}",
      "{\"specversion\":\"1.0\",}",
      "{'id':'x'}",
  };
  for (const auto& c : cases) {
    std::error_code ec;
    const std::string msg = problem(c, &ec);
    EXPECT_EQ(ec, make_error_code(errc::malformed_event)) << c << " -> " << msg;
    EXPECT_FALSE(msg.empty());
  }
}

TEST(Codec, InvalidUtf8IsRejected) {
  std::string bad = valid;
  bad.replace(bad.find("order-1"), 1, "\xC3\x28");
  std::error_code ec;
  EXPECT_NE(problem(bad, &ec), "");
  EXPECT_EQ(ec, make_error_code(errc::malformed_event));
  std::string bad_data = valid;
  bad_data.replace(bad_data.find("product-1"), 1, "\xFF");
  EXPECT_NE(problem(bad_data, &ec), "");
}

TEST(Codec, DuplicateAttributesAreRejected) {
  std::error_code ec;
  const std::string dup = "{\"id\":\"a\"," + valid.substr(1);
  EXPECT_NE(problem(dup, &ec).find("'id' appears twice"), std::string::npos);
}

TEST(Codec, SizeLimitAppliesToDecodeAndEncode) {
  std::error_code ec;
  const std::string msg = problem(valid, &ec, codec_limits{.max_envelope_bytes = 100});
  EXPECT_EQ(ec, make_error_code(errc::too_large));
  EXPECT_NE(msg.find("100-byte limit"), std::string::npos);
  envelope e = decode(valid);
  e.data = "{\"blob\":\"" + std::string(2 << 20, 'x') + "\"}";
  EXPECT_THROW(encode(e), error);
  try {
    encode(e);
  } catch (const error& err) {
    EXPECT_EQ(err.code(), make_error_code(errc::too_large));
  }
}

TEST(Codec, ExtensionNamesFollowCloudEventsRules) {
  std::error_code ec;
  EXPECT_NE(problem(with("Bad-Name", "\"x\""), &ec), "");
  EXPECT_EQ(ec, make_error_code(errc::wrong_type));
  envelope e = decode(valid);
  e.extensions["UPPER"] = "x";
  EXPECT_THROW(validate(e), error);
}

TEST(Codec, EncodeRejectsNonObjectData) {
  envelope e = decode(valid);
  e.data = "[1,2,3]";
  EXPECT_THROW(encode(e), error);
  EXPECT_THROW(validate(e), error);
}

TEST(Codec, ThrowingDecodeCarriesCodeAndMessage) {
  try {
    decode(with("type", ""));
    FAIL() << "no exception";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::missing_attribute));
    EXPECT_FALSE(e.retriable());
    EXPECT_NE(std::string(e.what()).find("'type'"), std::string::npos);
  }
}

}  // namespace
}  // namespace eventshop
