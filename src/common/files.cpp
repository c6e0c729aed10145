#include "common/files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/stat.h>

namespace pgstack {

// POSIX calls, not a stream: a stream turns a failed read (a directory, EIO) into an empty file, and
// std::filesystem::exists throws on a name over NAME_MAX.
Result<std::string> read_file(const std::filesystem::path& path) {
  const auto failed = [&path](int error) {
    const ErrorCode code = error == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable;
    return make_error(code, fmt::format("{}: cannot read: {}", path.string(), std::strerror(error)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(errno);
  std::string content;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return failed(error);
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

Result<std::string> read_file_tail(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return make_error(error == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                      fmt::format("{}: cannot read: {}", path.string(), std::strerror(error)));
  }
  std::string content(max_bytes, '\0');
  const off_t end = ::lseek(fd, 0, SEEK_END);
  const off_t start = end > static_cast<off_t>(max_bytes) ? end - static_cast<off_t>(max_bytes) : 0;
  std::size_t filled = 0;
  while (filled < max_bytes) {
    const ssize_t n = ::pread(fd, content.data() + filled, max_bytes - filled, start + static_cast<off_t>(filled));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("{}: cannot read: {}", path.string(), std::strerror(error)));
    }
    filled += static_cast<std::size_t>(n);
  }
  ::close(fd);
  content.resize(filled);
  return content;
}

Result<bool> write_file_atomically(const std::filesystem::path& path, const std::string& content,
                                   std::filesystem::perms permissions) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  // Create with the final mode so a secret is never readable by others, even briefly.
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(permissions));
  if (fd < 0)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: cannot create: {}", temporary.string(), std::strerror(errno)));
  ::fchmod(fd, static_cast<mode_t>(permissions));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot write: {}", temporary.string(), reason));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{}: cannot flush: {}", temporary.string(), std::strerror(errno)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    return make_error(ErrorCode::kUnavailable, fmt::format("{}: cannot rename into place: {}", path.string(), reason));
  }
  return true;
}

Result<bool> make_traversable_directories(const std::filesystem::path& path) {
  std::filesystem::path current;
  for (const auto& part : path) {
    current /= part;
    if (::mkdir(current.c_str(), 0755) == 0) {
      if (::chmod(current.c_str(), 0755) != 0)
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("{}: cannot chmod: {}", current.string(), std::strerror(errno)));
    } else if (errno != EEXIST) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("{}: cannot create directory: {}", current.string(), std::strerror(errno)));
    }
  }
  return true;
}

Result<bool> check_traversable_by(const std::filesystem::path& path, uid_t uid, gid_t gid, std::string_view user) {
  if (uid == 0) return true;
  std::filesystem::path current;
  for (const auto& part : std::filesystem::absolute(path)) {
    current /= part;
    struct stat info {};
    if (::stat(current.c_str(), &info) != 0) break;  // what does not exist yet is made traversable
    if (!S_ISDIR(info.st_mode)) break;
    const bool can = (info.st_uid == uid && (info.st_mode & S_IXUSR) != 0) ||
                     (info.st_uid != uid && info.st_gid == gid && (info.st_mode & S_IXGRP) != 0) ||
                     (info.st_uid != uid && info.st_gid != gid && (info.st_mode & S_IXOTH) != 0);
    if (!can) {
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("{} (mode {:04o}, owner uid {}) cannot be entered by the {} user that runs "
                                    "Postgres, Patroni and PgBouncer: `chmod o+x {}`, or choose another state dir",
                                    current.string(), info.st_mode & 07777, info.st_uid, user, current.string()));
    }
  }
  return true;
}

}  // namespace pgstack
