// Serving the console from its table: files, the app's routes, caching and the security headers.
#include "console/console_server.h"

#include <array>
#include <regex>

#include <gtest/gtest.h>

namespace pgstack::console {
namespace {

const std::array<ConsoleAsset, 3> kTable{{
    {"index.html", "text/html; charset=utf-8", "\"aaaaaaaaaaaaaaaa\"", "<html>app</html>"},
    {"assets/index-abc123.js", "text/javascript; charset=utf-8", "\"bbbbbbbbbbbbbbbb\"", "console.log(1)"},
    {"favicon.svg", "image/svg+xml", "\"cccccccccccccccc\"", "<svg/>"},
}};

HttpReply get(const std::string& path, std::map<std::string, std::string> headers = {}, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = path;
  request.target = path;
  request.headers = std::move(headers);
  return serve_console(request, kTable);
}

TEST(ConsoleServer, ServesFilesWithTheirTypeAndTheSecurityHeaders) {
  const HttpReply script = get("/ui/assets/index-abc123.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.body, "console.log(1)");
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.headers.at("Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(script.headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(script.headers.at("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(script.headers.at("ETag"), "\"bbbbbbbbbbbbbbbb\"");
  EXPECT_EQ(script.headers.at("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_NE(kContentSecurityPolicy.find("script-src 'self';"), std::string_view::npos);
  EXPECT_EQ(kContentSecurityPolicy.find("unsafe"), std::string_view::npos);
}

TEST(ConsoleServer, IndexIsRevalidatedAndAppRoutesGetIt) {
  for (const std::string path : {"/ui/", "/ui/namespaces/default/sgclusters/demo", "/ui/login", "/ui/index.html"}) {
    const HttpReply reply = get(path);
    EXPECT_EQ(reply.status, 200) << path;
    EXPECT_EQ(reply.body, "<html>app</html>") << path;
    EXPECT_EQ(reply.headers.at("Cache-Control"), "no-cache") << path;
    EXPECT_EQ(reply.headers.at("Content-Security-Policy"), kContentSecurityPolicy) << path;
  }
  EXPECT_EQ(get("/ui/favicon.svg").headers.at("Cache-Control"), "no-cache");
}

TEST(ConsoleServer, MissingAssetsAre404NotTheApp) {
  const HttpReply reply = get("/ui/assets/index-gone.js");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(reply.headers.at("X-Content-Type-Options"), "nosniff");
}

TEST(ConsoleServer, AMatchingETagIsNotModified) {
  const HttpReply reply = get("/ui/assets/index-abc123.js", {{"if-none-match", "\"bbbbbbbbbbbbbbbb\""}});
  EXPECT_EQ(reply.status, 304);
  EXPECT_TRUE(reply.body.empty());
  EXPECT_EQ(get("/ui/assets/index-abc123.js", {{"if-none-match", "\"other\""}}).status, 200);
}

TEST(ConsoleServer, RedirectsToTheConsoleAndReadsOnly) {
  for (const std::string path : {"/", "/ui"}) {
    const HttpReply reply = get(path);
    EXPECT_EQ(reply.status, 308) << path;
    EXPECT_EQ(reply.headers.at("Location"), "/ui/") << path;
  }
  const HttpReply post = get("/ui/", {}, "POST");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers.at("Allow"), "GET, HEAD");
  const HttpReply head = get("/ui/", {}, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(ConsoleServer, WhichPathsAreTheConsoles) {
  EXPECT_TRUE(is_console_path("/"));
  EXPECT_TRUE(is_console_path("/ui"));
  EXPECT_TRUE(is_console_path("/ui/assets/x.js"));
  EXPECT_FALSE(is_console_path("/uix"));
  EXPECT_FALSE(is_console_path("/auth/login"));
  EXPECT_FALSE(is_console_path("/apis/stackgres.io/v1/namespaces/default/sgclusters"));
}

TEST(ConsoleServer, WithoutABuiltConsoleTheAppSaysSo) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/ui/";
  const HttpReply reply = serve_console(request, {});
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.body.find("console not built"), std::string::npos);
}

// The embedded build: index.html names only files the table has, and no inline script (the CSP
// would block one).
TEST(ConsoleAssets, TheEmbeddedBuildIsComplete) {
  if (!PGSTACK_CONSOLE_BUILT) {
    EXPECT_TRUE(console_assets().empty());
    GTEST_SKIP() << "built with -DPGSTACK_CONSOLE=OFF";
  }
  const auto assets = console_assets();
  const auto index = std::find_if(assets.begin(), assets.end(), [](const auto& a) { return a.path == "index.html"; });
  ASSERT_NE(index, assets.end());
  const std::string html(index->bytes);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("style="), std::string::npos);
  const std::regex reference(R"((?:src|href)="/ui/([^"]+)\")");
  int references = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), reference); it != std::sregex_iterator(); ++it) {
    const std::string path = (*it)[1].str();
    ++references;
    EXPECT_TRUE(std::any_of(assets.begin(), assets.end(), [&](const auto& a) { return a.path == path; })) << path;
  }
  EXPECT_GE(references, 2);  // the script and the stylesheet
  for (const auto& asset : assets) {
    EXPECT_EQ(asset.etag.size(), 18U) << asset.path;
    EXPECT_FALSE(asset.bytes.empty()) << asset.path;
  }
}

}  // namespace
}  // namespace pgstack::console
