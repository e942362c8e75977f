// Pattern matching of routes: literal > {param} > {rest*}, 404 vs 405.
#include "eventshop/http/router.hpp"

#include <algorithm>

#include "eventshop/core/error.hpp"

namespace eventshop::http {

namespace {

struct segment {
  enum class kind { literal, param, rest } k = kind::literal;
  std::string text;  // literal text or parameter name
};

struct route {
  method m = method::get;
  std::string pattern;
  std::vector<segment> segments;
  handler sync;
  async_handler async;
  takeover_handler takeover;
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  // path starts with '/'; "/" has zero segments, "/a/" has segments "a" and "".
  std::size_t i = 1;
  if (path.size() <= 1) return out;
  while (true) {
    std::size_t slash = path.find('/', i);
    out.push_back(
        path.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i));
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return out;
}

std::vector<segment> parse_pattern(std::string_view pattern) {
  auto bad = [&](const std::string& why) {
    return eventshop::error(errc::invalid_argument,
                            "route pattern '" + std::string(pattern) + "': " + why);
  };
  if (pattern.empty() || pattern.front() != '/') throw bad("must start with '/'");
  std::vector<segment> out;
  auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    segment s;
    if (!p.empty() && p.front() == '{') {
      if (p.size() < 3 || p.back() != '}')
        throw bad("unbalanced '{' in segment '" + std::string(p) + "'");
      std::string_view name = p.substr(1, p.size() - 2);
      if (name.back() == '*') {
        if (i + 1 != parts.size()) throw bad("a catch-all {name*} must be the last segment");
        s.k = segment::kind::rest;
        name.remove_suffix(1);
      } else {
        s.k = segment::kind::param;
      }
      if (name.empty() || name.find_first_of("{}/*") != std::string_view::npos) {
        throw bad("bad parameter name in '" + std::string(p) + "'");
      }
      s.text = std::string(name);
    } else {
      if (p.find_first_of("{}") != std::string_view::npos) {
        throw bad("braces must enclose a whole segment");
      }
      s.text = std::string(p);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// Matches `segs` against `path`; on success fills params and returns a specificity score
// (higher = more specific) as a vector compared lexicographically.
bool match_route(const std::vector<segment>& segs, const std::vector<std::string_view>& path,
                 std::vector<std::pair<std::string, std::string>>& params,
                 std::vector<int>& score) {
  params.clear();
  score.clear();
  std::size_t i = 0;
  for (; i < segs.size(); ++i) {
    const segment& s = segs[i];
    if (s.k == segment::kind::rest) {
      std::string rest;
      for (std::size_t j = i; j < path.size(); ++j) {
        if (j > i) rest += '/';
        rest += path[j];
      }
      params.emplace_back(s.text, std::move(rest));
      score.push_back(0);
      return true;
    }
    if (i >= path.size()) return false;
    if (s.k == segment::kind::literal) {
      if (path[i] != s.text) return false;
      score.push_back(2);
    } else {
      if (path[i].empty()) return false;
      params.emplace_back(s.text, std::string(path[i]));
      score.push_back(1);
    }
  }
  return i == path.size();
}

}  // namespace

struct router::impl {
  std::vector<route> routes;

  void add(route r) {
    r.segments = parse_pattern(r.pattern);
    for (const auto& other : routes) {
      if (other.m == r.m && other.pattern == r.pattern) {
        throw eventshop::error(
            errc::invalid_argument,
            "route " + std::string(to_string(r.m)) + " " + r.pattern + " is already registered");
      }
    }
    routes.push_back(std::move(r));
  }
};

router::router() : impl_(std::make_unique<impl>()) {}
router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

router& router::add(method m, std::string_view pattern, handler h) {
  route r;
  r.m = m;
  r.pattern = std::string(pattern);
  r.sync = std::move(h);
  impl_->add(std::move(r));
  return *this;
}

router& router::add_async(method m, std::string_view pattern, async_handler h) {
  route r;
  r.m = m;
  r.pattern = std::string(pattern);
  r.async = std::move(h);
  impl_->add(std::move(r));
  return *this;
}

router& router::add_takeover(method m, std::string_view pattern, takeover_handler h) {
  route r;
  r.m = m;
  r.pattern = std::string(pattern);
  r.takeover = std::move(h);
  impl_->add(std::move(r));
  return *this;
}

router::match router::find(method m, std::string_view path) const {
  match result;
  if (path.empty() || path.front() != '/') return result;
  auto parts = split_path(path);
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<int> score, best_score, best_any_score;
  const route* best = nullptr;
  const route* best_head_fallback = nullptr;
  std::vector<int> best_head_score;
  std::vector<std::pair<std::string, std::string>> best_params, head_params;
  std::vector<method> allowed;
  for (const auto& r : impl_->routes) {
    if (!match_route(r.segments, parts, params, score)) continue;
    if (std::find(allowed.begin(), allowed.end(), r.m) == allowed.end()) allowed.push_back(r.m);
    if (r.m == m) {
      if (!best || score > best_score) {
        best = &r;
        best_score = score;
        best_params = params;
      }
    } else if (m == method::head && r.m == method::get) {
      if (!best_head_fallback || score > best_head_score) {
        best_head_fallback = &r;
        best_head_score = score;
        head_params = params;
      }
    }
  }
  // HEAD uses GET unless an explicit HEAD route is at least as specific.
  if (best_head_fallback && (!best || best_head_score > best_score)) {
    best = best_head_fallback;
    best_params = std::move(head_params);
  }
  if (best) {
    result.result = match::kind::found;
    result.sync = best->sync ? &best->sync : nullptr;
    result.async = best->async ? &best->async : nullptr;
    result.takeover = best->takeover ? &best->takeover : nullptr;
    result.pattern = best->pattern;
    result.params = std::move(best_params);
    return result;
  }
  if (allowed.empty()) return result;
  result.result = match::kind::method_not_allowed;
  if (std::find(allowed.begin(), allowed.end(), method::get) != allowed.end() &&
      std::find(allowed.begin(), allowed.end(), method::head) == allowed.end()) {
    allowed.push_back(method::head);
  }
  std::sort(allowed.begin(), allowed.end());
  for (method a : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += to_string(a);
  }
  return result;
}

}  // namespace eventshop::http
