// Client of etcd's v3 JSON gateway (etcd 3.4: /v3/kv/*, /v3/lease/*, /v3/watch). Keys and values are
// raw bytes here; base64 and the int64-as-string encoding of the gateway stay inside the client.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/http_client.h"

namespace pgstack::store {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

// A member of the etcd cluster (the cluster API). An id is a uint64, kept as the gateway spells it.
struct EtcdMember {
  std::string id;
  std::string name;  // empty until the member first started
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

struct RangeResult {
  std::vector<KeyValue> items;  // sorted by key
  std::int64_t revision = 0;    // the store's revision the read saw
};

enum class WatchEventType { kPut, kDelete };

struct WatchEvent {
  WatchEventType type = WatchEventType::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision (the deletion's revision) are set
};

// Called on the watch's own thread with the events of one revision range, in revision order.
using WatchCallback = std::function<void(const std::vector<WatchEvent>& events)>;

// The range end that makes [prefix, end) cover every key starting with prefix ("\0" for "": all keys).
std::string prefix_range_end(std::string_view prefix);

// The endpoints a client (and its copies and watches) tries: those it was given, then the client URLs of the
// etcd members it learnt since (EtcdClient::follow_members), so a daemon started with its own host's member
// keeps etcd when that member stops while the others keep quorum.
class EtcdEndpoints {
 public:
  explicit EtcdEndpoints(std::vector<std::string> given);
  std::vector<std::string> current() const;
  // Sets the learnt ones (the given stay first, in their order; a URL is listed once). true when the list changed.
  bool set_learnt(const std::vector<std::string>& learnt);

 private:
  const std::vector<std::string> given_;
  mutable std::mutex mutex_;
  std::vector<std::string> current_;
};

// given, then the `member_urls` not among them, sorted, each once (trailing '/' trimmed). Pure.
std::vector<std::string> merge_endpoints(const std::vector<std::string>& given,
                                         const std::vector<std::string>& member_urls);

// A watch on a key prefix running on its own thread; reconnects after errors (trying the next
// endpoint) and resumes after the last revision it delivered. Made by EtcdClient::watch_prefix.
class EtcdWatch {
 public:
  EtcdWatch(std::shared_ptr<const EtcdEndpoints> endpoints, std::string prefix, std::int64_t start_revision,
            WatchCallback callback, std::chrono::milliseconds timeout);
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // Returns within a fraction of a second; no callback runs after it returns (unless called from one).
  void stop();
  // The revision of the last event delivered, 0 before the first.
  std::int64_t last_revision() const { return last_revision_.load(); }

 private:
  void run();
  // Returns false when the stream must be reopened (error, cancellation by etcd).
  bool handle_line(std::string_view line, std::int64_t& next_revision);
  void wait_before_retry(std::chrono::milliseconds delay);

  const std::shared_ptr<const EtcdEndpoints> endpoints_;
  const std::string prefix_;
  const WatchCallback callback_;
  const std::chrono::milliseconds timeout_;
  std::int64_t start_revision_;
  std::atomic<std::int64_t> last_revision_{0};
  std::atomic<bool> stopping_{false};
  HttpLineStream stream_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

class EtcdClient {
 public:
  // endpoints like "http://127.0.0.1:2379"; `timeout` bounds each request to one endpoint.
  explicit EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // A copy shares the endpoints (what follow_members learns reaches every copy and its watches).
  EtcdClient(const EtcdClient& other);
  // The same endpoints, another timeout.
  EtcdClient(const EtcdClient& other, std::chrono::milliseconds timeout);
  EtcdClient& operator=(const EtcdClient&) = delete;

  std::vector<std::string> endpoints() const { return endpoints_->current(); }
  // Learns the client URLs of the cluster's voting members (member_list) and tries them after the given
  // endpoints; a member removed since is dropped again. Returns whether the list changed. Daemons call it
  // now and then (a member joins with `pgstack join --etcd-member`).
  Result<bool> follow_members() const;

  Result<std::optional<KeyValue>> get(std::string_view key) const;
  Result<RangeResult> get_prefix(std::string_view prefix) const;

  // Returns the revision of the write.
  Result<std::int64_t> put(std::string_view key, std::string_view value, std::int64_t lease = 0) const;
  // Writes only if the key's mod_revision is `expected_mod_revision` (0: the key must not exist);
  // otherwise kConflict saying what the key looks like now.
  Result<std::int64_t> put_if(std::string_view key, std::string_view value, std::int64_t expected_mod_revision,
                              std::int64_t lease = 0) const;
  // For leader election and locks: false (not an error) when the key already exists.
  Result<bool> create_if_absent_with_lease(std::string_view key, std::string_view value, std::int64_t lease) const;

  // true when the key existed.
  Result<bool> remove(std::string_view key) const;
  // Deletes only if the key's mod_revision is `expected_mod_revision`, else kConflict.
  Result<bool> remove_if(std::string_view key, std::int64_t expected_mod_revision) const;
  // Returns how many keys were deleted.
  Result<std::int64_t> remove_prefix(std::string_view prefix) const;

  // Returns the lease id. etcd rounds TTLs below its minimum (about 1.5 s by default) up.
  Result<std::int64_t> grant_lease(std::chrono::seconds ttl) const;
  // false when the lease no longer exists (expired or revoked); errors only for transport failures.
  Result<bool> keep_alive(std::int64_t lease_id) const;
  // false when the lease was already gone. Keys attached to it are deleted.
  Result<bool> revoke_lease(std::int64_t lease_id) const;

  // The cluster's members; adding one as a learner (it does not count for quorum until promoted, so a
  // member that never starts costs nothing); promoting a learner (kFailedPrecondition until it caught up
  // with the leader); removing one. add_learner returns the new member and the list with it.
  Result<std::vector<EtcdMember>> member_list() const;
  Result<std::pair<EtcdMember, std::vector<EtcdMember>>> member_add_learner(const std::string& peer_url) const;
  Result<bool> member_promote(const std::string& id) const;
  Result<bool> member_remove(const std::string& id) const;

  // start_revision 0: only changes after the watch is established; otherwise replays history from it
  // (a compacted start resumes at the oldest revision still kept, losing the events before it).
  std::unique_ptr<EtcdWatch> watch_prefix(std::string prefix, std::int64_t start_revision,
                                          WatchCallback callback) const;

 private:
  // POSTs a gateway request, trying the endpoints in turn while they are unreachable.
  Result<nlohmann::json> call(std::string_view path, const nlohmann::json& request) const;
  Result<nlohmann::json> txn_put_or_delete(std::string_view key, std::int64_t expected_mod_revision,
                                           nlohmann::json operation) const;

  std::shared_ptr<EtcdEndpoints> endpoints_;
  std::chrono::milliseconds timeout_;
  mutable std::atomic<std::size_t> preferred_{0};  // the endpoint that answered last
};

// How often daemons call follow_members (and follow_etcd_members, which logs what changed).
inline constexpr std::chrono::seconds kEtcdMemberCheckInterval{30};
void follow_etcd_members(const EtcdClient& etcd, std::string_view who);

}  // namespace pgstack::store
