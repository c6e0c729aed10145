#include "support/azurite_server.h"

#include <ctime>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/digest.h"
#include "common/process.h"
#include "model/user_secret.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

// Installed by scripts/install-deps (npm install --prefix /opt/pgstack-test-tools azurite@3.35.0).
constexpr const char* kAzuriteBlobScript = "/opt/pgstack-test-tools/node_modules/azurite/dist/src/blob/main.js";
constexpr const char* kApiVersion = "2021-10-04";

// "Tue, 24 Nov 2026 11:08:13 GMT": x-ms-date.
std::string http_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

std::string hmac_sha256(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

Result<std::unique_ptr<AzuriteServer>> AzuriteServer::start() {
  if (::access(kAzuriteBlobScript, R_OK) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} is missing; run scripts/install-deps to install Azurite", kAzuriteBlobScript));
  std::unique_ptr<AzuriteServer> server(new AzuriteServer());
  RETURN_IF_ERROR(server->prepare());
  const std::vector<std::string> argv = {
      kNodeBinary,
      kAzuriteBlobScript,
      "--blobHost",
      server->host(),
      "--blobPort",
      std::to_string(server->port()),
      "--location",
      server->directory().string(),
      "--cert",
      server->certificate_file().string(),
      "--key",
      server->key_file().string(),
      "--disableProductStyleUrl",  // the account is the path's first segment, whatever the host
      "--disableTelemetry",        // it would try to reach Azure
  };
  // pgBackRest does not create containers; creating it proves port, TLS and the account key.
  const auto container_created = [&server]() -> std::optional<std::string> {
    auto request = server->signed_container_request("PUT", {{"restype", "container"}});
    if (!request) return request.error().message;
    auto answer = run_command(server->curl_argv(*request));
    if (!answer) return answer.error().message;
    // 409: an earlier attempt created it, and only its answer was lost.
    if (answer->exit_code == 0 || answer->standard_error.find("409") != std::string::npos) return std::nullopt;
    return answer->standard_error;
  };
  RETURN_IF_ERROR(server->launch(argv, container_created));
  return server;
}

Result<std::vector<std::string>> AzuriteServer::signed_container_request(
    const std::string& verb, const std::vector<std::pair<std::string, std::string>>& query) const {
  auto key = pgstack::base64_decode(account_key_);
  RETURN_IF_ERROR(key);
  const std::string date = http_date_now();
  // Shared Key for the Blob service: the verb, eleven standard headers (all empty here: no body), the
  // x-ms- headers, then /<account><path> with the query parameters one per line.
  std::string to_sign =
      verb + "\n" + std::string(11, '\n') +
      fmt::format("x-ms-date:{}\nx-ms-version:{}\n/{}/{}/{}", date, kApiVersion, account_, account_, container_);
  std::string url = fmt::format("{}/{}/{}", endpoint(), account_, container_);
  for (std::size_t i = 0; i < query.size(); ++i) {
    to_sign += fmt::format("\n{}:{}", query[i].first, query[i].second);
    url += fmt::format("{}{}={}", i == 0 ? "?" : "&", query[i].first, query[i].second);
  }
  const std::string signature = pgstack::base64_encode(hmac_sha256(*key, to_sign));
  return std::vector<std::string>{"--request", verb,
                                  "--header",  "x-ms-date: " + date,
                                  "--header",  std::string("x-ms-version: ") + kApiVersion,
                                  "--header",  fmt::format("Authorization: SharedKey {}:{}", account_, signature),
                                  "--header",  "Content-Length: 0",
                                  url};
}

Result<std::vector<std::string>> AzuriteServer::blob_names() const {
  auto request = signed_container_request("GET", {{"comp", "list"}, {"maxresults", "5000"}, {"restype", "container"}});
  RETURN_IF_ERROR(request);
  auto answer = run_command(curl_argv(*request));
  RETURN_IF_ERROR(answer);
  if (answer->exit_code != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("List Blobs on Azurite: {}", answer->standard_error));
  std::vector<std::string> names;
  const std::string& xml = answer->standard_output;
  for (auto start = xml.find("<Name>"); start != std::string::npos; start = xml.find("<Name>", start)) {
    start += 6;
    const auto end = xml.find("</Name>", start);
    if (end == std::string::npos) break;
    names.push_back(xml.substr(start, end - start));
  }
  return names;
}

}  // namespace pgstack::testing
