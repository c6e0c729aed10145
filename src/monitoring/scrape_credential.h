// The installation's scrape credential in etcd (<prefix>/monitoring/scrape-credential): read it, or
// make it when no one has yet. Every agent (on any host) and every controller reads the same record, so
// a new host needs nothing copied; etcd is already where the clusters' passwords live (docs/security.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/error.h"
#include "monitoring/metrics_auth.h"
#include "store/etcd_client.h"

namespace pgstack::monitoring {

// The stored credential, or a new one created only if the key is still absent (two creators agree on the
// first). kUnavailable while etcd does not answer.
Result<ScrapeCredential> ensure_scrape_credential(const store::EtcdClient& etcd, const std::string& prefix);

// The same, retried every second for `patience` while etcd is unavailable (daemons start beside it).
Result<ScrapeCredential> wait_for_scrape_credential(const store::EtcdClient& etcd, const std::string& prefix,
                                                    std::chrono::seconds patience);

// The password alone, as Prometheus' basic_auth.password_file reads it: written 0600 (atomically, only
// when it changed) and given to the owner of its directory, which is the user Prometheus runs as.
Result<bool> write_scrape_password_file(const std::filesystem::path& path, const ScrapeCredential& credential);

}  // namespace pgstack::monitoring
