// An S3-compatible object store for tests of pgBackRest's repo1-type=s3: s3rver (npm, installed by
// scripts/install-deps under /opt/pgstack-test-tools) serving HTTPS with a throwaway CA.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "common/error.h"
#include "support/https_test_server.h"

namespace pgstack::testing {

// s3rver on 127.0.0.1:<free port> over HTTPS, in its own temporary directory, removed on destruction.
// It does not check SigV4 signatures, so a wrong secret key goes unnoticed: tests of bad credentials
// use a missing bucket or a missing Secret instead.
class S3Server : public HttpsTestServer {
 public:
  // Makes the CA and server certificate, creates the bucket, and returns once an HTTPS GET of the
  // bucket verified against ca_file() succeeds, or fails after 20 s with the end of s3rver's log.
  static Result<std::unique_ptr<S3Server>> start();

  const std::string& bucket() const { return bucket_; }
  const std::string& region() const { return region_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }

  // Where s3rver keeps the objects: <data_directory()>/<bucket>/<key>.
  std::filesystem::path data_directory() const { return directory() / "data"; }

 private:
  S3Server() : HttpsTestServer("s3rver") {}

  std::string bucket_ = "pgstack-test";
  std::string region_ = "us-east-1";
  std::string access_key_ = "S3RVER";  // s3rver's only account
  std::string secret_key_ = "S3RVER";
};

}  // namespace pgstack::testing
