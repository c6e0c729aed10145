#include "console/console_server.h"

#include <algorithm>

namespace pgstack::console {
namespace {

constexpr std::string_view kPrefix = "/ui/";
constexpr std::string_view kAssetsDirectory = "assets/";

void add_security_headers(HttpReply& reply) {
  reply.headers["Content-Security-Policy"] = std::string(kContentSecurityPolicy);
  reply.headers["X-Content-Type-Options"] = "nosniff";
  reply.headers["Referrer-Policy"] = "no-referrer";
  reply.headers["X-Frame-Options"] = "DENY";
}

HttpReply text_reply(int status, std::string body) {
  HttpReply reply{status, "text/plain; charset=utf-8", std::move(body), {}};
  reply.headers["Cache-Control"] = "no-cache";
  add_security_headers(reply);
  return reply;
}

HttpReply redirect(std::string location) {
  HttpReply reply = text_reply(308, "see " + location + "\n");
  reply.headers["Location"] = std::move(location);
  return reply;
}

const ConsoleAsset* find_asset(std::span<const ConsoleAsset> assets, std::string_view path) {
  const auto found = std::find_if(assets.begin(), assets.end(), [&](const ConsoleAsset& a) { return a.path == path; });
  return found == assets.end() ? nullptr : &*found;
}

HttpReply asset_reply(const HttpRequest& request, const ConsoleAsset& asset) {
  HttpReply reply{200, std::string(asset.content_type), {}, {}};
  add_security_headers(reply);
  reply.headers["ETag"] = std::string(asset.etag);
  // Vite names what it puts under assets/ by a hash of the content: a changed file is a new URL.
  reply.headers["Cache-Control"] =
      asset.path.starts_with(kAssetsDirectory) ? "public, max-age=31536000, immutable" : "no-cache";
  const auto if_none_match = request.headers.find("if-none-match");
  if (if_none_match != request.headers.end() && if_none_match->second == asset.etag) {
    reply.status = 304;
    return reply;
  }
  if (request.method != "HEAD") reply.body = std::string(asset.bytes);
  return reply;
}

}  // namespace

bool is_console_path(std::string_view path) { return path == "/" || path == "/ui" || path.starts_with(kPrefix); }

HttpReply serve_console(const HttpRequest& request, std::span<const ConsoleAsset> assets) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpReply reply = text_reply(405, "the console's files are read with GET\n");
    reply.headers["Allow"] = "GET, HEAD";
    return reply;
  }
  if (request.path == "/" || request.path == "/ui") return redirect(std::string(kPrefix));
  const ConsoleAsset* index = find_asset(assets, "index.html");
  if (index == nullptr)
    return text_reply(404,
                      "pgstack console not built: this controller was built with -DPGSTACK_CONSOLE=OFF "
                      "(docs/console.md)\n");
  std::string_view path = std::string_view(request.path).substr(kPrefix.size());
  if (path.empty()) return asset_reply(request, *index);
  if (const ConsoleAsset* asset = find_asset(assets, path)) return asset_reply(request, *asset);
  // A missing script or stylesheet must fail as such, not parse index.html as JavaScript.
  if (path.starts_with(kAssetsDirectory)) return text_reply(404, "no such console file\n");
  return asset_reply(request, *index);
}

}  // namespace pgstack::console
