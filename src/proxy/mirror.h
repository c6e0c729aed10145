// Mirroring: what clients of a listener send is replayed on a shadow server, off the data path. Sessions
// submit to a bounded queue (never blocking: a full queue drops and counts); one thread per listener
// replays through libpq, one shadow session per client session so transaction blocks stay intact, and
// reads and discards the answers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy_config.h"

namespace pgstack::proxy {

struct MirrorItem {
  enum class Kind { kQuery, kEndSession };
  Kind kind = Kind::kQuery;
  std::uint64_t session = 0;
  std::string sql;
  // Extended protocol: parameters as Bind carried them (format 0 text, 1 binary) and Parse's types.
  bool extended = false;
  std::vector<std::optional<std::string>> parameters;
  std::vector<int> formats;
  std::vector<std::uint32_t> types;
};

class Mirror {
 public:
  explicit Mirror(MirrorConfig config);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  void start();
  void stop();
  // Never blocks; false when the queue was full (counted as dropped).
  bool submit(MirrorItem item);

  std::uint64_t mirrored() const { return mirrored_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t errors() const { return errors_.load(); }

 private:
  struct Shadow;
  void run();

  const MirrorConfig config_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<MirrorItem> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> mirrored_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::thread thread_;
};

}  // namespace pgstack::proxy
