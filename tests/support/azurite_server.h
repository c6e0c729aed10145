// An Azure Blob Storage emulator for tests of pgBackRest's repo1-type=azure: Azurite's blob service
// (npm, installed by scripts/install-deps under /opt/pgstack-test-tools) serving HTTPS with a
// throwaway CA. Its URIs are path-style (https://127.0.0.1:<port>/<account>/<container>/<blob>).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/https_test_server.h"

namespace pgstack::testing {

// Azurite on 127.0.0.1:<free port>, its data in its own temporary directory, removed on destruction.
// Unlike s3rver it checks request signatures, so a wrong account key is refused (403).
class AzuriteServer : public HttpsTestServer {
 public:
  // Makes the CA and server certificate, starts Azurite and returns once it has created the container
  // (a request signed with the account key), or fails after 20 s with the end of Azurite's log.
  static Result<std::unique_ptr<AzuriteServer>> start();

  const std::string& account() const { return account_; }
  const std::string& account_key() const { return account_key_; }  // base64, as Azure shows it
  const std::string& container() const { return container_; }

  // The names of the blobs in the container (the first 5000), as a signed List Blobs request answers.
  Result<std::vector<std::string>> blob_names() const;

 private:
  AzuriteServer() : HttpsTestServer("azurite") {}
  // curl's arguments for a request on the container signed with the account's shared key; `query`
  // are its parameters (name, value), sorted by name.
  Result<std::vector<std::string>> signed_container_request(
      const std::string& verb, const std::vector<std::pair<std::string, std::string>>& query) const;

  // Azurite's built-in development account and its documented key.
  std::string account_ = "devstoreaccount1";
  std::string account_key_ = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  std::string container_ = "pgstack-test";
};

}  // namespace pgstack::testing
