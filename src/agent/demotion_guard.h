// Stops a Patroni that demoted its primary because etcd was out of reach, before etcd is back.
//
// Patroni 3.0.2 (Debian 12; fixed in 3.0.3 by patroni#2689): a leader cut off from etcd for longer than
// the TTL demotes itself but keeps its cached belief that it holds the leader key; when etcd is back it
// writes the key without a condition, taking it from the member elected meanwhile, and promotes again on
// its own fork of the timeline. A fresh Patroni has nothing cached and follows whoever leads. The agent's
// own loop cannot be relied on to see the demotion in time: while etcd is cut off each of its etcd calls
// waits for its timeout on every endpoint, and a partition that heals within seconds of the new election
// (CI did this) slipped through. So this thread asks each member's Patroni every half second, apart from
// the agent's loop: a Patroni that it saw running as primary and that no longer does is sent its stop
// signal when etcd is out of reach. The agent then keeps it stopped until etcd answers
// (InstanceSupervisor::stopped_by_guard).
//
// The first sign is Patroni's own log: it says when it demotes a leader because etcd is out of reach, and
// the guard reads what Patroni appended every half second; that needs no answer from etcd, which a
// partition that heals within seconds of the new election could give by the time the guard asked
// (bench/multihost/soak saw it). The role check below is the second sign, for a line it did not see.
//
// Patroni's own dcs_last_seen does not tell: its etcd3 watch cache answers its reads (and so refreshes
// dcs_last_seen) while the watch stream hangs on a cut-off connection, which is how CI's run slipped
// past a guard that trusted it. The guard asks etcd itself (a linearizable read) when dcs_last_seen
// looks fresh.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "process/process_supervisor.h"

namespace pgstack::agent {

// What a Patroni's demotion calls for.
enum class DemotionVerdict {
  kNothing,               // not a demotion of a primary this guard saw
  kStop,                  // demoted with etcd out of reach for long (as Patroni itself says)
  kStopUnlessEtcdAnswers  // demoted while Patroni's view of etcd looks fresh: a switchover if etcd answers
};

// Pure. A Patroni seen running as primary (`was_writable`) that now reports `role`, having last reached
// etcd `since_etcd` ago (nullopt: it did not say).
DemotionVerdict judge_demotion(bool was_writable, std::string_view role, std::optional<std::chrono::seconds> since_etcd,
                               std::chrono::seconds stale_after);

// Pure. Whether `appended` (what Patroni wrote to its log since the guard last looked) says that it demoted
// this primary because etcd was out of reach (Patroni 3.0.2's ha.py words, also in the later "updated leader
// lock during demoting self because ..." line).
bool says_demoted_for_lost_etcd(std::string_view appended);

class DemotionGuard {
 public:
  struct Watched {
    std::string patroni_status_url;  // GET /patroni of the member's Patroni
    ProcessIdentity patroni;         // the process to stop
    int stop_signal = 0;
    std::filesystem::path patroni_log;  // patroni.log (empty: not read)
  };

  // stale_after: how long without reaching etcd counts as cut off (well above Patroni's loop_wait).
  // etcd_answers: whether etcd answers a linearizable read now (called on the guard's thread, bounded).
  DemotionGuard(std::chrono::seconds stale_after, std::function<bool()> etcd_answers,
                std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~DemotionGuard();
  DemotionGuard(const DemotionGuard&) = delete;
  DemotionGuard& operator=(const DemotionGuard&) = delete;

  // The members to watch, by instance key, as the agent's loop last saw them (replaces the earlier set).
  void watch(std::map<std::string, Watched> watched);
  // The members whose Patroni it stopped since the last call.
  std::vector<std::string> take_stopped();

 private:
  void run();
  void check(const std::string& key, const Watched& watched);
  // The whole lines Patroni appended to its log since the last call for `key` (nothing on the first: older
  // lines are not news); starts again from the top of a file that got shorter (Patroni rotates by renaming).
  std::string appended_to_log(const std::string& key, const std::filesystem::path& log);
  void stop_patroni(const std::string& key, const Watched& watched, const std::string& why);

  const std::chrono::seconds stale_after_;
  const std::function<bool()> etcd_answers_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, Watched> watched_;                // guarded by mutex_
  std::vector<std::string> stopped_;                      // guarded by mutex_
  std::map<std::string, ProcessIdentity> seen_writable_;  // the guard thread's own
  std::map<std::string, std::uintmax_t> log_read_up_to_;  // the guard thread's own
  std::map<std::string, ProcessIdentity> signalled_;      // the guard thread's own: one stop per Patroni
  std::thread thread_;
};

}  // namespace pgstack::agent
