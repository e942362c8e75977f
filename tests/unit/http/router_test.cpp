// Router matching without sockets.
#include <gtest/gtest.h>

#include "eventshop/core/error.hpp"
#include "eventshop/http/router.hpp"

using namespace eventshop::http;

TEST(router, matches_literals_params_and_catch_all_by_specificity) {
  router r;
  r.get("/a/{x}", [](request&) { return response::text(200, "param"); });
  r.get("/a/b", [](request&) { return response::text(200, "literal"); });
  r.get("/{rest*}", [](request&) { return response::text(200, "rest"); });
  auto m = r.find(method::get, "/a/b");
  ASSERT_EQ(m.result, router::match::kind::found);
  EXPECT_EQ(m.pattern, "/a/b");
  m = r.find(method::get, "/a/c");
  EXPECT_EQ(m.pattern, "/a/{x}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "c");
  m = r.find(method::get, "/a/c/d");
  EXPECT_EQ(m.pattern, "/{rest*}");
  EXPECT_EQ(m.params[0].second, "a/c/d");
  EXPECT_EQ(r.find(method::get, "/").pattern, "/{rest*}");
  EXPECT_EQ(r.find(method::post, "/a/b").result, router::match::kind::method_not_allowed);
}

TEST(router, empty_parameter_segment_does_not_match) {
  router r;
  r.get("/orders/{id}", [](request&) { return response::text(200, ""); });
  EXPECT_EQ(r.find(method::get, "/orders/").result, router::match::kind::not_found);
  EXPECT_EQ(r.find(method::get, "/orders").result, router::match::kind::not_found);
  EXPECT_EQ(r.find(method::get, "/orders/1/x").result, router::match::kind::not_found);
}

TEST(router, rejects_malformed_and_duplicate_patterns) {
  router r;
  auto h = [](request&) { return response::empty(204); };
  EXPECT_THROW(r.get("orders", h), eventshop::error);
  EXPECT_THROW(r.get("/orders/{id", h), eventshop::error);
  EXPECT_THROW(r.get("/{rest*}/x", h), eventshop::error);
  EXPECT_THROW(r.get("/a{b}", h), eventshop::error);
  r.get("/x", h);
  EXPECT_THROW(r.get("/x", h), eventshop::error);
  EXPECT_NO_THROW(r.post("/x", h));
}

TEST(message, url_decode_and_query_params) {
  EXPECT_EQ(url_decode("a%20b").value(), "a b");
  EXPECT_FALSE(url_decode("%4").has_value());
  EXPECT_FALSE(url_decode("%zz").has_value());
  EXPECT_FALSE(url_decode("%00").has_value());
  EXPECT_EQ(url_decode("a+b", true).value(), "a b");
  request req;
  req.query = "a=1&b=x%2By&c";
  EXPECT_EQ(req.query_param("b").value(), "x+y");
  EXPECT_EQ(req.query_param("c").value(), "");
  EXPECT_FALSE(req.query_param("d").has_value());
  req.headers = {{"content-TYPE", "Application/JSON; charset=utf-8"}};
  EXPECT_EQ(req.content_type(), "application/json");
}
