// An S3-compatible object store for tests of pgBackRest's repo1-type=s3: s3rver (npm, installed by
// scripts/install-deps under /opt/pgstack-test-tools) serving HTTPS with a throwaway CA.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack::testing {

// s3rver on 127.0.0.1:<free port> over HTTPS, in its own temporary directory, removed on destruction.
// It does not check SigV4 signatures, so a wrong secret key goes unnoticed: tests of bad credentials
// use a missing bucket or a missing Secret instead.
class S3Server {
 public:
  // Makes the CA and server certificate, creates the bucket, and returns once an HTTPS GET of the
  // bucket verified against ca_file() succeeds, or fails after 20 s with the end of s3rver's log.
  static Result<std::unique_ptr<S3Server>> start();
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  const std::string& host() const { return host_; }  // 127.0.0.1, also what the certificate names
  int port() const { return port_; }
  std::string endpoint() const;  // https://127.0.0.1:<port>
  const std::string& bucket() const { return bucket_; }
  const std::string& region() const { return region_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }
  std::filesystem::path ca_file() const { return directory_ / "ca.crt"; }
  const std::filesystem::path& directory() const { return directory_; }

  // Where s3rver keeps the objects: <data_directory()>/<bucket>/<key>.
  std::filesystem::path data_directory() const { return directory_ / "data"; }
  // The CA certificate (PEM), what an SGObjectStorage's caCertificate Secret holds.
  std::string ca_certificate() const;

  // SIGTERM, then SIGKILL after 10 s.
  Result<bool> stop();
  bool running() const { return pid_ > 0; }
  std::string log_tail() const;

 private:
  S3Server() = default;
  Result<bool> make_certificates();
  Result<bool> launch();
  Result<bool> wait_until_ready();

  std::filesystem::path directory_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string bucket_ = "pgstack-test";
  std::string region_ = "us-east-1";
  std::string access_key_ = "S3RVER";  // s3rver's only account
  std::string secret_key_ = "S3RVER";
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
