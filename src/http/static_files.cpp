// Static files: content types, ETag/Last-Modified caching, no path traversal.
#include "eventshop/http/static_files.hpp"

#include <ctime>
#include <fstream>
#include <sstream>

#include "eventshop/core/error.hpp"
#include "eventshop/http/json.hpp"

namespace eventshop::http {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view filename) noexcept {
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext;
  for (char c : filename.substr(dot + 1))
    ext.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  struct entry {
    std::string_view ext, type;
  };
  static constexpr entry table[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
      {"xml", "application/xml"},
      {"webmanifest", "application/manifest+json"},
  };
  for (const auto& e : table) {
    if (e.ext == ext) return e.type;
  }
  return "application/octet-stream";
}

namespace {

std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool safe_relative(std::string_view rel) {
  if (rel.find('\\') != std::string_view::npos || rel.find('\0') != std::string_view::npos)
    return false;
  if (!rel.empty() && rel.front() == '/') return false;
  std::size_t i = 0;
  while (i <= rel.size()) {
    std::size_t slash = rel.find('/', i);
    std::string_view seg =
        rel.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    if (seg == ".." || seg == ".") return false;
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return true;
}

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.native();
  auto s = p.native();
  if (s.size() < r.size() || s.compare(0, r.size(), r) != 0) return false;
  return s.size() == r.size() || s[r.size()] == '/' || r.back() == '/';
}

bool has_extension(std::string_view rel) {
  auto last = rel.substr(rel.rfind('/') == std::string_view::npos ? 0 : rel.rfind('/') + 1);
  return last.find('.') != std::string_view::npos;
}

}  // namespace

void add_static_files(router& r, std::string prefix, const fs::path& root, static_options options) {
  if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/') {
    throw eventshop::error(errc::invalid_argument,
                           "add_static_files: prefix '" + prefix + "' must start and end with '/'");
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw eventshop::error(errc::invalid_argument,
                           "add_static_files: '" + root.string() + "' is not a directory");
  }
  auto canonical_root = fs::canonical(root, ec);
  if (ec) throw eventshop::error(errc::io_error, "add_static_files: " + ec.message());
  auto opts = std::make_shared<static_options>(std::move(options));
  r.get(prefix + "{path*}", [canonical_root, opts](request& req) {
    std::string rel(req.param("path"));
    auto not_found = [&] { return error_response(404, "not_found", "no file at " + req.path); };
    if (!safe_relative(rel)) return not_found();
    std::error_code fec;
    fs::path target = canonical_root / rel;
    if (rel.empty() || fs::is_directory(target, fec)) target /= opts->index;
    if (!fs::is_regular_file(target, fec)) {
      if (opts->spa_fallback && !has_extension(rel)) {
        target = canonical_root / opts->index;
        if (!fs::is_regular_file(target, fec)) return not_found();
      } else {
        return not_found();
      }
    }
    auto real = fs::canonical(target, fec);
    if (fec || !inside(canonical_root, real)) return not_found();  // symlink leading outside
    auto size = fs::file_size(real, fec);
    if (fec) return not_found();
    if (size > opts->max_file_bytes) {
      return error_response(413, "payload_too_large", "file too large to serve");
    }
    auto mtime = fs::last_write_time(real, fec);
    auto sys = std::chrono::file_clock::to_sys(mtime);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count();
    std::ostringstream etag;
    etag << '"' << std::hex << size << '-' << ns << '"';
    std::string rel_real = real.string().substr(canonical_root.string().size());
    bool immutable = rel_real.find("/assets/") != std::string::npos ||
                     rel_real.find("/_next/static/") != std::string::npos;
    const std::string& cache = immutable ? opts->immutable_cache_control : opts->cache_control;
    auto last_modified = http_date(std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(sys)));
    if (auto inm = req.header("If-None-Match");
        inm && inm->find(etag.str()) != std::string_view::npos) {
      response res = response::empty(304);
      res.set_header("ETag", etag.str());
      res.set_header("Cache-Control", cache);
      res.set_header("Last-Modified", last_modified);
      return res;
    }
    std::ifstream in(real, std::ios::binary);
    if (!in) return not_found();
    std::string body(size, '\0');
    in.read(body.data(), static_cast<std::streamsize>(size));
    body.resize(static_cast<std::size_t>(in.gcount()));
    response res(200, std::move(body), content_type_for(real.filename().string()));
    res.set_header("ETag", etag.str());
    res.set_header("Last-Modified", last_modified);
    res.set_header("Cache-Control", cache);
    res.set_header("X-Content-Type-Options", "nosniff");
    return res;
  });
}

}  // namespace eventshop::http
