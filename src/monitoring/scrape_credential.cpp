#include "monitoring/scrape_credential.h"

#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/password_hash.h"
#include "store/keys.h"

namespace pgstack::monitoring {

Result<ScrapeCredential> ensure_scrape_credential(const store::EtcdClient& etcd, const std::string& prefix) {
  const std::string key = store::keys::scrape_credential(prefix);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto stored = etcd.get(key);
    RETURN_IF_ERROR(stored);
    if (stored->has_value()) {
      const model::Json json = model::Json::parse((*stored)->value, nullptr, false);
      auto parsed = parse_scrape_credential(json);
      if (!parsed.ok())
        return make_error(ErrorCode::kFailedPrecondition, fmt::format("{}: {}", key, parsed.error().message));
      return parsed;
    }
    auto password = random_password();
    RETURN_IF_ERROR(password);
    auto hash = bcrypt_hash(*password);
    RETURN_IF_ERROR(hash);
    const ScrapeCredential made{*password, *hash};
    auto created = etcd.put_if(key, scrape_credential_json(made).dump(), 0);
    if (created.ok()) return made;
    // Another agent or controller made it first: read theirs.
    if (created.error().code != ErrorCode::kConflict) return created.error();
  }
  return make_error(ErrorCode::kUnavailable, fmt::format("{}: could not be read or created", key));
}

Result<ScrapeCredential> wait_for_scrape_credential(const store::EtcdClient& etcd, const std::string& prefix,
                                                    std::chrono::seconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (true) {
    auto credential = ensure_scrape_credential(etcd, prefix);
    if (credential.ok() || credential.error().code != ErrorCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline)
      return credential;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Result<bool> write_scrape_password_file(const std::filesystem::path& path, const ScrapeCredential& credential) {
  const std::string content = credential.password + "\n";
  if (auto current = read_file(path); !current.ok() || *current != content)
    RETURN_IF_ERROR(write_file_atomically(path, content, std::filesystem::perms(0600)));
  struct stat directory {};
  const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (::stat(parent.c_str(), &directory) != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot stat {}", parent.string()));
  struct stat file {};
  if (::lstat(path.c_str(), &file) != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot stat {}", path.string()));
  if ((file.st_uid != directory.st_uid || file.st_gid != directory.st_gid) &&
      ::lchown(path.c_str(), directory.st_uid, directory.st_gid) != 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot give {} to uid {}", path.string(), directory.st_uid));
  return true;
}

}  // namespace pgstack::monitoring
