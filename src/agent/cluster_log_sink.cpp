#include "agent/cluster_log_sink.h"

#include <cctype>
#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <spdlog/pattern_formatter.h>
#include <sys/stat.h>

namespace pgstack::agent {
namespace {

bool is_name_character(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

// "<ns>/<cluster>" of a word "<ns>/<cluster>[/<member>][:]"; nothing for any other word.
std::optional<std::string> cluster_of_word(std::string_view word) {
  if (!word.empty() && word.back() == ':') word.remove_suffix(1);
  std::size_t parts = 1;
  std::size_t second_slash = std::string_view::npos;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (word[i] == '/') {
      // No empty part: "/tmp/x", "a//b" and "a/" are not names.
      if (i == 0 || word[i - 1] == '/' || i + 1 == word.size()) return std::nullopt;
      if (++parts == 3) second_slash = i;
    } else if (!is_name_character(word[i]) || (word[i] == '.' && (i == 0 || word[i - 1] == '/'))) {
      // A part may not start with '.': "../x" would be a path out of cluster-logs/.
      return std::nullopt;
    }
  }
  if (parts < 2 || parts > 3) return std::nullopt;
  return std::string(word.substr(0, second_slash));
}

std::string_view word_at(std::string_view text, std::size_t index) {
  for (std::size_t i = 0; i <= index; ++i) {
    const auto end = text.find(' ');
    if (i == index) return text.substr(0, end);
    if (end == std::string_view::npos) return {};
    text.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace

std::optional<std::string> cluster_of_agent_line(std::string_view message) {
  if (auto first = cluster_of_word(word_at(message, 0))) return first;
  const std::string_view program = word_at(message, 0);
  // "patroni default/demo/demo-0: ...", "proxy default/demo: ...": a program's name, then the key.
  if (program.empty() || program.back() == ':' || program.find('/') != std::string_view::npos) return std::nullopt;
  return cluster_of_word(word_at(message, 1));
}

std::filesystem::path cluster_agent_log_directory(const std::filesystem::path& state_dir,
                                                  const std::string& cluster_key) {
  return state_dir / "cluster-logs" / cluster_key;
}

ClusterLogSink::ClusterLogSink(std::filesystem::path state_dir)
    : state_dir_(std::move(state_dir)),
      line_format_(std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%l] %v")) {}

ClusterLogSink::~ClusterLogSink() {
  for (auto& [key, file] : files_) {
    if (file.fd >= 0) ::close(file.fd);
  }
}

std::uint64_t ClusterLogSink::lines_lost() const { return lines_lost_.load(); }

int ClusterLogSink::file_for(const std::string& cluster_key) {
  const auto directory = cluster_agent_log_directory(state_dir_, cluster_key);
  const auto path = directory / kClusterAgentLogFile;
  OpenFile& file = files_[cluster_key];
  struct stat at_path {};
  const bool exists = ::stat(path.c_str(), &at_path) == 0;
  if (file.fd >= 0 && exists && at_path.st_dev == file.device && at_path.st_ino == file.inode) return file.fd;
  // Renamed away by a rotation (or removed): the lines from now on go to a new file at the path.
  if (file.fd >= 0) ::close(file.fd);
  file.fd = -1;
  std::error_code ignored;
  std::filesystem::create_directories(directory, ignored);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return -1;
  struct stat opened {};
  if (::fstat(fd, &opened) != 0) {
    ::close(fd);
    return -1;
  }
  file = {fd, static_cast<std::uint64_t>(opened.st_dev), static_cast<std::uint64_t>(opened.st_ino)};
  return fd;
}

void ClusterLogSink::set_host_clusters(std::set<std::string> cluster_keys) {
  const std::lock_guard lock(mutex_);  // base_sink's: sink_it_ runs under it
  for (const std::string& key : cluster_keys) {
    if (host_clusters_.count(key) > 0) continue;
    std::uint64_t& delivered = host_lines_delivered_[key];
    for (const auto& [number, line] : recent_host_lines_) {
      if (number <= delivered) continue;
      write_line(key, line);
      delivered = number;
    }
  }
  host_clusters_ = std::move(cluster_keys);
}

void ClusterLogSink::sink_it_(const spdlog::details::log_msg& message) {
  const std::string_view payload(message.payload.data(), message.payload.size());
  const auto cluster_key = cluster_of_agent_line(payload);
  spdlog::memory_buf_t line;
  line_format_->format(message, line);
  const std::string_view text(line.data(), line.size());
  if (cluster_key) {
    write_line(*cluster_key, text);
    return;
  }
  const std::uint64_t number = ++host_lines_logged_;
  recent_host_lines_.emplace_back(number, std::string(text));
  if (recent_host_lines_.size() > kHostLinesKept) recent_host_lines_.pop_front();
  for (const std::string& key : host_clusters_) {
    write_line(key, text);
    host_lines_delivered_[key] = number;
  }
}

void ClusterLogSink::write_line(const std::string& cluster_key, std::string_view line) {
  const int fd = file_for(cluster_key);
  if (fd < 0) {
    ++lines_lost_;
    return;
  }
  // One write per line with O_APPEND: a reader never sees half of two lines interleaved.
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++lines_lost_;
      return;
    }
    written += static_cast<std::size_t>(n);
  }
}

}  // namespace pgstack::agent
