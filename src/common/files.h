// Reading and writing whole files; secrets are written 0600 and never half-written.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "common/error.h"

namespace pgstack {

Result<std::string> read_file(const std::filesystem::path& path);

// The last `max_bytes` of a file (all of it when smaller), without reading the rest: the end of a log.
Result<std::string> read_file_tail(const std::filesystem::path& path, std::size_t max_bytes);

// Writes to a temporary file beside `path` and renames it into place, so readers never see half a file.
Result<bool> write_file_atomically(const std::filesystem::path& path, const std::string& content,
                                   std::filesystem::perms permissions = std::filesystem::perms(0644));

// Creates what is missing of `path` with mode 0755 whatever the umask, so that a less privileged user
// can traverse it. Existing directories are left as they are.
Result<bool> make_traversable_directories(const std::filesystem::path& path);

// Fails, naming the directory, its mode and owner, when a user (uid, gid) cannot traverse every
// existing directory down to `path`: Postgres runs as another user than pgstack when pgstack is root,
// and a state dir made by `mktemp -d` (0700) would stop it with a bare "Permission denied".
Result<bool> check_traversable_by(const std::filesystem::path& path, uid_t uid, gid_t gid, std::string_view user);

}  // namespace pgstack
