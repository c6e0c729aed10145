#include "support/s3_server.h"

#include <unistd.h>

#include <fmt/format.h>

#include "common/process.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

// Installed by scripts/install-deps (npm install --prefix /opt/pgstack-test-tools s3rver@3.7.1).
constexpr const char* kS3rverScript = "/opt/pgstack-test-tools/node_modules/s3rver/bin/s3rver.js";

}  // namespace

Result<std::unique_ptr<S3Server>> S3Server::start() {
  if (::access(kS3rverScript, R_OK) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} is missing; run scripts/install-deps to install s3rver", kS3rverScript));
  std::unique_ptr<S3Server> server(new S3Server());
  RETURN_IF_ERROR(server->prepare());
  std::error_code error;
  std::filesystem::create_directory(server->data_directory(), error);
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: {}", server->data_directory().string(), error.message()));
  const std::vector<std::string> argv = {
      kNodeBinary,
      kS3rverScript,
      "--directory",
      server->data_directory().string(),
      "--address",
      server->host(),
      "--port",
      std::to_string(server->port()),
      "--key",
      server->key_file().string(),
      "--cert",
      server->certificate_file().string(),
      "--no-vhost-buckets",
      "--configure-bucket",
      server->bucket_,
  };
  // s3rver creates the bucket before it listens; a verified HTTPS GET of it proves port, TLS and bucket.
  const auto bucket_answers = [&server]() -> std::optional<std::string> {
    auto answer = run_command(
        server->curl_argv({"--output", "/dev/null", fmt::format("{}/{}", server->endpoint(), server->bucket_)}));
    if (!answer) return answer.error().message;
    if (answer->exit_code != 0) return answer->standard_error;
    return std::nullopt;
  };
  RETURN_IF_ERROR(server->launch(argv, bucket_answers));
  return server;
}

}  // namespace pgstack::testing
