#include "agent/demotion_guard.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "patroni/roles.h"

namespace pgstack::agent {

DemotionVerdict judge_demotion(bool was_writable, std::string_view role, std::optional<std::chrono::seconds> since_etcd,
                               std::chrono::seconds stale_after) {
  if (!was_writable || patroni::is_writable_role(role)) return DemotionVerdict::kNothing;
  if (since_etcd && *since_etcd >= stale_after) return DemotionVerdict::kStop;
  return DemotionVerdict::kStopUnlessEtcdAnswers;
}

bool says_demoted_for_lost_etcd(std::string_view appended) {
  return appended.find("demoting self because DCS is not accessible and I was a leader") != std::string_view::npos;
}

DemotionGuard::DemotionGuard(std::chrono::seconds stale_after, std::function<bool()> etcd_answers,
                             std::chrono::milliseconds interval)
    : stale_after_(stale_after),
      etcd_answers_(std::move(etcd_answers)),
      interval_(interval),
      thread_([this] { run(); }) {}

DemotionGuard::~DemotionGuard() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DemotionGuard::watch(std::map<std::string, Watched> watched) {
  std::lock_guard lock(mutex_);
  watched_ = std::move(watched);
}

std::vector<std::string> DemotionGuard::take_stopped() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.swap(stopped_);
  return out;
}

void DemotionGuard::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const std::map<std::string, Watched> watched = watched_;
    lock.unlock();
    for (auto it = seen_writable_.begin(); it != seen_writable_.end();) {
      it = watched.count(it->first) == 0 ? seen_writable_.erase(it) : std::next(it);
    }
    for (auto it = log_read_up_to_.begin(); it != log_read_up_to_.end();) {
      it = watched.count(it->first) == 0 ? log_read_up_to_.erase(it) : std::next(it);
    }
    for (auto it = signalled_.begin(); it != signalled_.end();) {
      it = watched.count(it->first) == 0 ? signalled_.erase(it) : std::next(it);
    }
    for (const auto& [key, member] : watched) check(key, member);
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

std::string DemotionGuard::appended_to_log(const std::string& key, const std::filesystem::path& log) {
  constexpr std::uintmax_t kMostRead = 1 << 20;
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(log, error);
  if (error) return {};
  const auto known = log_read_up_to_.find(key);
  if (known == log_read_up_to_.end()) {
    log_read_up_to_[key] = size;
    return {};
  }
  std::uintmax_t from = known->second <= size ? known->second : 0;
  if (size - from > kMostRead) from = size - kMostRead;
  std::ifstream file(log, std::ios::binary);
  if (!file) return {};
  file.seekg(static_cast<std::streamoff>(from));
  std::string text(static_cast<std::size_t>(size - from), '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  // Whole lines only: a line Patroni is still writing is read next time, not split across two reads.
  const auto last_line_end = text.rfind('\n');
  text.resize(last_line_end == std::string::npos ? 0 : last_line_end + 1);
  known->second = from + text.size();
  return text;
}

void DemotionGuard::check(const std::string& key, const Watched& watched) {
  // A Patroni already sent its stop signal may take seconds to end (it stops Postgres first).
  if (const auto signalled = signalled_.find(key);
      signalled != signalled_.end() && signalled->second == watched.patroni)
    return;
  if (!watched.patroni_log.empty() && says_demoted_for_lost_etcd(appended_to_log(key, watched.patroni_log))) {
    seen_writable_.erase(key);
    stop_patroni(key, watched, "Patroni says it demoted this primary because etcd is out of reach");
    return;
  }
  auto response = http_request("GET", watched.patroni_status_url, {}, {}, std::chrono::seconds(2));
  if (!response) return;  // no answer proves nothing
  const auto status = nlohmann::json::parse(response->body, nullptr, false);
  if (!status.is_object()) return;
  const std::string role = status.value("role", "");
  const auto seen = seen_writable_.find(key);
  // Only this process's primary role counts: a new Patroni (after a restart) starts from nothing.
  const bool was_writable = seen != seen_writable_.end() && seen->second == watched.patroni;
  if (patroni::is_writable_role(role)) {
    seen_writable_[key] = watched.patroni;
    return;
  }
  std::optional<std::chrono::seconds> since_etcd;
  if (const auto last_seen = status.find("dcs_last_seen"); last_seen != status.end() && last_seen->is_number()) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    since_etcd = now - std::chrono::seconds(last_seen->get<std::int64_t>());
  }
  const DemotionVerdict verdict = judge_demotion(was_writable, role, since_etcd, stale_after_);
  if (verdict == DemotionVerdict::kNothing) return;
  seen_writable_.erase(key);                                                          // one verdict per demotion
  if (verdict == DemotionVerdict::kStopUnlessEtcdAnswers && etcd_answers_()) return;  // a switchover
  stop_patroni(
      key, watched,
      fmt::format("Patroni demoted this primary while etcd is out of reach (Patroni last reached it {})",
                  since_etcd ? fmt::format("{} s ago", since_etcd->count()) : std::string("at an unknown time")));
}

void DemotionGuard::stop_patroni(const std::string& key, const Watched& watched, const std::string& why) {
  if (!is_alive(watched.patroni)) return;
  spdlog::warn(
      "{}: {}; stopping it until etcd answers, so that it cannot take the leader key back from the member elected "
      "meanwhile (Patroni 3.0.2, patroni#2689)",
      key, why);
  if (::kill(watched.patroni.pid, watched.stop_signal) != 0) {
    spdlog::warn("{}: cannot signal Patroni (pid {}): {}", key, watched.patroni.pid, std::strerror(errno));
    return;
  }
  signalled_[key] = watched.patroni;
  std::lock_guard lock(mutex_);
  stopped_.push_back(key);
}

}  // namespace pgstack::agent
