// Serves the web console at /ui/ from the embedded table (console_assets.h), with no authentication:
// the console is static files and its login page; every API call it makes goes through the access
// gate. A path under /ui/ that is not a file is an app route and gets index.html (a deep link), except
// under /ui/assets/, where a missing file is a 404. Headers: a strict CSP (no inline script or style),
// nosniff, no referrer; Vite's hashed assets are immutable, index.html is revalidated by its ETag.
#pragma once

#include <span>
#include <string_view>

#include "common/http_server.h"
#include "console/console_assets.h"

namespace pgstack::console {

inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

// "/" (redirected to the console), "/ui" and everything below "/ui/".
bool is_console_path(std::string_view path);

// `assets`: the embedded table; tests pass their own.
HttpReply serve_console(const HttpRequest& request, std::span<const ConsoleAsset> assets = console_assets());

}  // namespace pgstack::console
