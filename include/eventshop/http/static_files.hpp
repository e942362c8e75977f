// eventshop/http/static_files.hpp - serves a directory (the web UI) under a URL prefix.
//
// GET/HEAD only. The decoded path is resolved inside `root` and anything that would leave it
// ("..", encoded "%2e%2e", absolute paths, NUL, backslashes, symlinks pointing outside) is
// 404 - never served. Content-Type comes from the extension (html, js, mjs, css, json, svg, png,
// jpg, gif, webp, ico, woff, woff2, txt, map, wasm; else application/octet-stream). Caching:
// `ETag` (size + mtime) and `Last-Modified`, `If-None-Match` -> 304; `Cache-Control` is
// `immutable_cache_control` for files under an "assets/" or "_next/static/" directory (hashed
// names) and `cache_control` otherwise. A directory serves its `index` file; with
// `spa_fallback`, an unknown path without an extension serves root/index (client routing).
// Files larger than `max_file_bytes` are 413 (the server buffers whole files in memory).
// Thread safety: safe (no shared mutable state).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "eventshop/http/router.hpp"

namespace eventshop::http {

struct static_options {
  std::string cache_control = "no-cache";
  std::string immutable_cache_control = "public, max-age=31536000, immutable";
  std::string index = "index.html";
  bool spa_fallback = false;
  std::size_t max_file_bytes = 32 * 1024 * 1024;
};

// Registers GET (and HEAD) `<prefix>{path*}` serving files under `root`. `prefix` must start
// and end with '/' ("/" or "/ui/"). Throws eventshop::error(invalid_argument) when `root` is not
// a directory.
void add_static_files(router& r, std::string prefix, const std::filesystem::path& root,
                      static_options options = {});

// The Content-Type for a file name's extension.
std::string_view content_type_for(std::string_view filename) noexcept;

}  // namespace eventshop::http
