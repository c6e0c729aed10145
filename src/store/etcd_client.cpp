#include "store/etcd_client.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/digest.h"

namespace pgstack::store {
namespace {

// etcd's JSON gateway bodies: plain nlohmann::json (key order never matters), not model::Json.
using WireJson = nlohmann::json;

// The gateway passes Grpc-Metadata-* on as gRPC metadata: "hasleader" makes a member that has lost its
// leader (cut off from its peers) answer "no leader" at once, so the next endpoint is tried without
// waiting for a timeout, and end the watches it serves, so they move to a member that sees new writes.
const HttpHeaders& json_headers() {
  static const HttpHeaders headers = {{"Content-Type", "application/json"}, {"Grpc-Metadata-Hasleader", "true"}};
  return headers;
}

// etcd's JSON gateway carries keys and values as base64.
Result<std::string> decode_etcd_base64(std::string_view text) {
  auto decoded = base64_decode(text);
  if (!decoded) return make_error(ErrorCode::kInternal, "etcd sent " + decoded.error().message);
  return decoded;
}

// The gateway sends int64 as JSON strings and leaves out fields that are zero.
std::int64_t int64_field(const WireJson& object, const char* name) {
  if (!object.is_object()) return 0;
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  const auto& text = it->get_ref<const std::string&>();
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::int64_t header_revision(const WireJson& response) {
  return response.contains("header") ? int64_field(response["header"], "revision") : 0;
}

Result<std::string> bytes_field(const WireJson& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::string();
  return decode_etcd_base64(it->get_ref<const std::string&>());
}

Result<KeyValue> parse_key_value(const WireJson& kv) {
  if (!kv.is_object()) return make_error(ErrorCode::kInternal, "etcd sent a key-value that is not an object");
  KeyValue result;
  auto key = bytes_field(kv, "key");
  RETURN_IF_ERROR(key);
  auto value = bytes_field(kv, "value");
  RETURN_IF_ERROR(value);
  result.key = std::move(key).value();
  result.value = std::move(value).value();
  result.create_revision = int64_field(kv, "create_revision");
  result.mod_revision = int64_field(kv, "mod_revision");
  result.version = int64_field(kv, "version");
  result.lease = int64_field(kv, "lease");
  return result;
}

Result<std::vector<KeyValue>> parse_key_values(const WireJson& response) {
  std::vector<KeyValue> items;
  const auto it = response.find("kvs");
  if (it == response.end() || !it->is_array()) return items;
  items.reserve(it->size());
  for (const WireJson& kv : *it) {
    auto parsed = parse_key_value(kv);
    RETURN_IF_ERROR(parsed);
    items.push_back(std::move(parsed).value());
  }
  return items;
}

// Error codes of gRPC, which the gateway passes through in its error bodies.
ErrorCode error_code_for_grpc(std::int64_t code) {
  switch (code) {
    case 3: return ErrorCode::kInvalidInput;        // INVALID_ARGUMENT
    case 5: return ErrorCode::kNotFound;            // NOT_FOUND
    case 6: return ErrorCode::kAlreadyExists;       // ALREADY_EXISTS
    case 9: return ErrorCode::kFailedPrecondition;  // FAILED_PRECONDITION
    case 10: return ErrorCode::kConflict;           // ABORTED
    case 4:                                         // DEADLINE_EXCEEDED
    case 8:                                         // RESOURCE_EXHAUSTED
    case 14: return ErrorCode::kUnavailable;        // UNAVAILABLE (e.g. "no leader")
    default: return ErrorCode::kInternal;
  }
}

Error gateway_error(std::string_view path, int status, const std::string& body) {
  const WireJson json = WireJson::parse(body, nullptr, false);
  std::string message = body;
  ErrorCode code = status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidInput;
  if (json.is_object()) {
    if (json.contains("message") && json["message"].is_string())
      message = json["message"].get<std::string>();
    else if (json.contains("error") && json["error"].is_string())
      message = json["error"].get<std::string>();
    if (json.contains("code")) code = error_code_for_grpc(int64_field(json, "code"));
  }
  return make_error(code, fmt::format("etcd {}: {} (HTTP {})", path, message, status));
}

// The key that starts a prefix range: etcd has no empty key, "\0" is the smallest.
std::string range_start(std::string_view prefix) { return prefix.empty() ? std::string(1, '\0') : std::string(prefix); }

WireJson compare_mod_revision(std::string_view key, std::int64_t expected) {
  // A missing key compares as mod_revision 0, so 0 means "must not exist".
  return {
      {"key", base64_encode(key)}, {"result", "EQUAL"}, {"target", "MOD"}, {"mod_revision", std::to_string(expected)}};
}

// The failure branch of our transactions reads the key, so the conflict can say what it is now.
Error conflict_error(std::string_view key, std::int64_t expected, const WireJson& response) {
  std::int64_t current = 0;
  const WireJson responses = response.value("responses", WireJson::array());
  if (responses.is_array() && !responses.empty() && responses[0].contains("response_range")) {
    const WireJson& range = responses[0]["response_range"];
    if (range.contains("kvs") && range["kvs"].is_array() && !range["kvs"].empty())
      current = int64_field(range["kvs"][0], "mod_revision");
  }
  if (expected == 0)
    return make_error(ErrorCode::kConflict, fmt::format("key \"{}\" already exists (mod_revision {})", key, current));
  if (current == 0)
    return make_error(ErrorCode::kConflict,
                      fmt::format("key \"{}\" no longer exists (expected mod_revision {})", key, expected));
  return make_error(ErrorCode::kConflict,
                    fmt::format("key \"{}\" has changed: mod_revision is {}, expected {}", key, current, expected));
}

std::string trim_trailing_slashes(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::vector<std::string> merge_endpoints(const std::vector<std::string>& given,
                                         const std::vector<std::string>& member_urls) {
  std::vector<std::string> learnt;
  for (const std::string& url : member_urls) {
    std::string trimmed = trim_trailing_slashes(url);
    if (!trimmed.empty() && std::find(given.begin(), given.end(), trimmed) == given.end())
      learnt.push_back(std::move(trimmed));
  }
  // Sorted: the same members in another order are the same list.
  std::sort(learnt.begin(), learnt.end());
  learnt.erase(std::unique(learnt.begin(), learnt.end()), learnt.end());
  std::vector<std::string> merged = given;
  merged.insert(merged.end(), learnt.begin(), learnt.end());
  return merged;
}

EtcdEndpoints::EtcdEndpoints(std::vector<std::string> given) : given_(std::move(given)), current_(given_) {}

std::vector<std::string> EtcdEndpoints::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool EtcdEndpoints::set_learnt(const std::vector<std::string>& learnt) {
  std::vector<std::string> merged = merge_endpoints(given_, learnt);
  std::lock_guard lock(mutex_);
  if (merged == current_) return false;
  current_ = std::move(merged);
  return true;
}

namespace {

std::vector<std::string> trimmed_endpoints(std::vector<std::string> endpoints) {
  for (auto& endpoint : endpoints) endpoint = trim_trailing_slashes(std::move(endpoint));
  return endpoints;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::make_shared<EtcdEndpoints>(trimmed_endpoints(std::move(endpoints)))), timeout_(timeout) {}

EtcdClient::EtcdClient(const EtcdClient& other)
    : endpoints_(other.endpoints_), timeout_(other.timeout_), preferred_(other.preferred_.load()) {}

EtcdClient::EtcdClient(const EtcdClient& other, std::chrono::milliseconds timeout)
    : endpoints_(other.endpoints_), timeout_(timeout), preferred_(other.preferred_.load()) {}

Result<bool> EtcdClient::follow_members() const {
  ASSIGN_OR_RETURN(const auto members, member_list());
  std::vector<std::string> urls;
  for (const auto& member : members) {
    // A learner serves no linearizable reads until promoted; a member without client URLs has not started.
    if (member.is_learner) continue;
    urls.insert(urls.end(), member.client_urls.begin(), member.client_urls.end());
  }
  if (urls.empty()) return false;  // an answer without members changes nothing
  return endpoints_->set_learnt(urls);
}

void follow_etcd_members(const EtcdClient& etcd, std::string_view who) {
  auto changed = etcd.follow_members();
  if (!changed) {
    spdlog::debug("{}: etcd's member list: {}", who, changed.error().message);  // the next call says it too
  } else if (*changed) {
    spdlog::info("{} now tries these etcd endpoints in turn: {}", who, fmt::join(etcd.endpoints(), ", "));
  }
}

Result<WireJson> EtcdClient::call(std::string_view path, const WireJson& request) const {
  const std::vector<std::string> endpoints = endpoints_->current();
  if (endpoints.empty()) return make_error(ErrorCode::kInvalidInput, "no etcd endpoints configured");
  const std::string body = request.dump();
  const std::size_t first = preferred_.load();
  std::string failures;
  for (std::size_t attempt = 0; attempt < endpoints.size(); ++attempt) {
    const std::size_t index = (first + attempt) % endpoints.size();
    auto response = http_request("POST", endpoints[index] + std::string(path), body, json_headers(), timeout_);
    Error failure;
    if (!response) {
      failure = response.error();
    } else if (response->status != 200) {
      failure = gateway_error(path, response->status, response->body);
    } else {
      WireJson json = WireJson::parse(response->body, nullptr, false);
      if (json.is_discarded() || !json.is_object())
        return make_error(ErrorCode::kInternal, fmt::format("etcd {}: the answer is not a JSON object", path));
      preferred_ = index;
      return json;
    }
    // Another member may be reachable or have a leader; anything else would fail there too.
    if (failure.code != ErrorCode::kUnavailable) return failure;
    failures += failures.empty() ? failure.message : "; " + failure.message;
  }
  return make_error(ErrorCode::kUnavailable, fmt::format("etcd is unavailable: {}", failures));
}

namespace {

std::vector<std::string> string_list(const WireJson& object, const char* name) {
  std::vector<std::string> out;
  if (!object.contains(name) || !object[name].is_array()) return out;
  for (const auto& item : object[name])
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

EtcdMember member_from(const WireJson& object) {
  EtcdMember member;
  if (object.contains("ID"))
    member.id = object["ID"].is_string() ? object["ID"].get<std::string>() : object["ID"].dump();
  member.name = object.value("name", "");
  member.peer_urls = string_list(object, "peerURLs");
  member.client_urls = string_list(object, "clientURLs");
  member.is_learner = object.value("isLearner", false);
  return member;
}

std::vector<EtcdMember> members_from(const WireJson& response) {
  std::vector<EtcdMember> out;
  if (!response.contains("members") || !response["members"].is_array()) return out;
  for (const auto& item : response["members"]) out.push_back(member_from(item));
  return out;
}

}  // namespace

Result<std::vector<EtcdMember>> EtcdClient::member_list() const {
  auto response = call("/v3/cluster/member/list", WireJson::object());
  RETURN_IF_ERROR(response);
  return members_from(*response);
}

Result<std::pair<EtcdMember, std::vector<EtcdMember>>> EtcdClient::member_add_learner(
    const std::string& peer_url) const {
  auto response = call("/v3/cluster/member/add", {{"peerURLs", {peer_url}}, {"isLearner", true}});
  RETURN_IF_ERROR(response);
  if (!response->contains("member"))
    return make_error(ErrorCode::kInternal, "etcd /v3/cluster/member/add: the answer names no member");
  return std::make_pair(member_from((*response)["member"]), members_from(*response));
}

Result<bool> EtcdClient::member_promote(const std::string& id) const {
  auto response = call("/v3/cluster/member/promote", {{"ID", id}});
  RETURN_IF_ERROR(response);
  return true;
}

Result<bool> EtcdClient::member_remove(const std::string& id) const {
  auto response = call("/v3/cluster/member/remove", {{"ID", id}});
  RETURN_IF_ERROR(response);
  return true;
}

Result<std::optional<KeyValue>> EtcdClient::get(std::string_view key) const {
  auto response = call("/v3/kv/range", {{"key", base64_encode(key)}});
  RETURN_IF_ERROR(response);
  auto items = parse_key_values(*response);
  RETURN_IF_ERROR(items);
  if (items->empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(items.value().front()));
}

Result<RangeResult> EtcdClient::get_prefix(std::string_view prefix) const {
  auto response = call("/v3/kv/range", {{"key", base64_encode(range_start(prefix))},
                                        {"range_end", base64_encode(prefix_range_end(prefix))}});
  RETURN_IF_ERROR(response);
  auto items = parse_key_values(*response);
  RETURN_IF_ERROR(items);
  return RangeResult{std::move(items).value(), header_revision(*response)};
}

Result<std::int64_t> EtcdClient::put(std::string_view key, std::string_view value, std::int64_t lease) const {
  WireJson request = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  auto response = call("/v3/kv/put", request);
  RETURN_IF_ERROR(response);
  return header_revision(*response);
}

Result<WireJson> EtcdClient::txn_put_or_delete(std::string_view key, std::int64_t expected_mod_revision,
                                               WireJson operation) const {
  const WireJson request = {
      {"compare", WireJson::array({compare_mod_revision(key, expected_mod_revision)})},
      {"success", WireJson::array({std::move(operation)})},
      {"failure", WireJson::array({{{"request_range", {{"key", base64_encode(key)}}}}})},
  };
  return call("/v3/kv/txn", request);
}

Result<std::int64_t> EtcdClient::put_if(std::string_view key, std::string_view value,
                                        std::int64_t expected_mod_revision, std::int64_t lease) const {
  WireJson put = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  auto response = txn_put_or_delete(key, expected_mod_revision, {{"request_put", std::move(put)}});
  RETURN_IF_ERROR(response);
  if (!response->value("succeeded", false)) return conflict_error(key, expected_mod_revision, *response);
  return header_revision(*response);
}

Result<bool> EtcdClient::create_if_absent_with_lease(std::string_view key, std::string_view value,
                                                     std::int64_t lease) const {
  auto written = put_if(key, value, 0, lease);
  if (written) return true;
  if (written.error().code == ErrorCode::kConflict) return false;
  return written.error();
}

Result<bool> EtcdClient::remove(std::string_view key) const {
  auto response = call("/v3/kv/deleterange", {{"key", base64_encode(key)}});
  RETURN_IF_ERROR(response);
  return int64_field(*response, "deleted") > 0;
}

Result<bool> EtcdClient::remove_if(std::string_view key, std::int64_t expected_mod_revision) const {
  auto response =
      txn_put_or_delete(key, expected_mod_revision, {{"request_delete_range", {{"key", base64_encode(key)}}}});
  RETURN_IF_ERROR(response);
  if (!response->value("succeeded", false)) return conflict_error(key, expected_mod_revision, *response);
  const WireJson responses = response->value("responses", WireJson::array());
  if (!responses.is_array() || responses.empty()) return false;
  return int64_field(responses[0].value("response_delete_range", WireJson::object()), "deleted") > 0;
}

Result<std::int64_t> EtcdClient::remove_prefix(std::string_view prefix) const {
  if (prefix.empty()) return make_error(ErrorCode::kInvalidInput, "refusing to delete every key: the prefix is empty");
  auto response = call("/v3/kv/deleterange",
                       {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_range_end(prefix))}});
  RETURN_IF_ERROR(response);
  return int64_field(*response, "deleted");
}

Result<std::int64_t> EtcdClient::grant_lease(std::chrono::seconds ttl) const {
  if (ttl.count() <= 0)
    return make_error(ErrorCode::kInvalidInput, fmt::format("lease TTL must be positive, got {} s", ttl.count()));
  auto response = call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}, {"ID", "0"}});
  RETURN_IF_ERROR(response);
  if (response->contains("error") && (*response)["error"].is_string() && !(*response)["error"].empty())
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("etcd could not grant a lease: {}", (*response)["error"].get<std::string>()));
  const std::int64_t id = int64_field(*response, "ID");
  if (id == 0) return make_error(ErrorCode::kInternal, "etcd granted a lease without an ID");
  return id;
}

Result<bool> EtcdClient::keep_alive(std::int64_t lease_id) const {
  // A streaming call: the gateway answers one {"result": ...} per request object, then ends.
  auto response = call("/v3/lease/keepalive", {{"ID", std::to_string(lease_id)}});
  RETURN_IF_ERROR(response);
  if (response->contains("error")) {
    const WireJson& error = (*response)["error"];
    return make_error(error_code_for_grpc(int64_field(error, "grpc_code")),
                      fmt::format("etcd could not keep lease {} alive: {}", lease_id, error.dump()));
  }
  // etcd answers TTL 0 (left out of the JSON) for a lease that has expired or was revoked.
  return int64_field(response->value("result", WireJson::object()), "TTL") > 0;
}

Result<bool> EtcdClient::revoke_lease(std::int64_t lease_id) const {
  auto response = call("/v3/lease/revoke", {{"ID", std::to_string(lease_id)}});
  if (response) return true;
  if (response.error().code == ErrorCode::kNotFound) return false;
  return response.error();
}

std::unique_ptr<EtcdWatch> EtcdClient::watch_prefix(std::string prefix, std::int64_t start_revision,
                                                    WatchCallback callback) const {
  return std::make_unique<EtcdWatch>(endpoints_, std::move(prefix), start_revision, std::move(callback), timeout_);
}

EtcdWatch::EtcdWatch(std::shared_ptr<const EtcdEndpoints> endpoints, std::string prefix, std::int64_t start_revision,
                     WatchCallback callback, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)),
      prefix_(std::move(prefix)),
      callback_(std::move(callback)),
      timeout_(timeout),
      start_revision_(start_revision),
      thread_([this] { run(); }) {}

EtcdWatch::~EtcdWatch() { stop(); }

void EtcdWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  stream_.cancel();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EtcdWatch::run() {
  if (endpoints_->current().empty()) {
    spdlog::error("etcd watch on \"{}\": no etcd endpoints configured", prefix_);
    return;
  }
  constexpr std::chrono::milliseconds kFirstRetry{100};
  constexpr std::chrono::milliseconds kLongestRetry{2000};
  std::int64_t next_revision = start_revision_;
  std::size_t endpoint = 0;
  std::chrono::milliseconds retry = kFirstRetry;
  while (!stopping_) {
    WireJson create = {{"key", base64_encode(range_start(prefix_))},
                       {"range_end", base64_encode(prefix_range_end(prefix_))}};
    if (next_revision > 0) create["start_revision"] = std::to_string(next_revision);
    const WireJson request = {{"create_request", std::move(create)}};
    bool delivered = false;
    // Read again at each connection: the client may have learnt members since.
    const std::vector<std::string> endpoints = endpoints_->current();
    endpoint %= endpoints.size();
    const std::string url = endpoints[endpoint] + "/v3/watch";
    auto result = stream_.run("POST", url, request.dump(), json_headers(), timeout_, [&](std::string_view line) {
      const bool keep_going = handle_line(line, next_revision);
      delivered = delivered || keep_going;
      return keep_going && !stopping_;
    });
    if (stopping_) break;
    if (!result) {
      spdlog::warn("etcd watch on \"{}\": {}; reconnecting", prefix_, result.error().message);
    } else {
      spdlog::info("etcd watch on \"{}\": {} ended the stream; reconnecting", prefix_, url);
    }
    endpoint = (endpoint + 1) % endpoints.size();
    retry = delivered ? kFirstRetry : std::min(retry * 2, kLongestRetry);
    wait_before_retry(retry);
  }
}

bool EtcdWatch::handle_line(std::string_view line, std::int64_t& next_revision) {
  const WireJson message = WireJson::parse(line, nullptr, false);
  if (message.is_discarded() || !message.is_object()) {
    spdlog::warn("etcd watch on \"{}\": not JSON: {}", prefix_, line);
    return false;
  }
  if (message.contains("error")) {
    spdlog::warn("etcd watch on \"{}\": etcd reported {}", prefix_, message["error"].dump());
    return false;
  }
  const WireJson& result = message.contains("result") ? message["result"] : WireJson::object();
  if (result.value("created", false)) {
    // Without a start revision etcd watches from the revision after this header: resume there.
    if (next_revision == 0) next_revision = header_revision(result) + 1;
    return true;
  }
  if (result.value("canceled", false)) {
    const std::int64_t compacted = int64_field(result, "compact_revision");
    if (compacted > 0) {
      spdlog::warn("etcd watch on \"{}\": revision {} is compacted; resuming at {}, events between are lost", prefix_,
                   next_revision, compacted);
      next_revision = compacted;
    } else {
      spdlog::warn("etcd watch on \"{}\": cancelled by etcd: {}", prefix_, result.value("cancel_reason", ""));
    }
    return false;
  }
  const auto events_it = result.find("events");
  if (events_it == result.end() || !events_it->is_array() || events_it->empty()) return true;
  std::vector<WatchEvent> events;
  events.reserve(events_it->size());
  for (const WireJson& event : *events_it) {
    auto kv = parse_key_value(event.value("kv", WireJson::object()));
    if (!kv) {
      spdlog::warn("etcd watch on \"{}\": skipping an event: {}", prefix_, kv.error().message);
      continue;
    }
    // PUT is the enum's zero value, so the gateway leaves "type" out for it.
    const WatchEventType type = event.value("type", "PUT") == "DELETE" ? WatchEventType::kDelete : WatchEventType::kPut;
    events.push_back(WatchEvent{type, std::move(kv).value()});
  }
  if (events.empty()) return true;
  next_revision = events.back().kv.mod_revision + 1;
  last_revision_ = events.back().kv.mod_revision;
  try {
    callback_(events);
  } catch (const std::exception& error) {
    // The watch thread is the callback's only caller: an escaping exception would end the process.
    spdlog::error("etcd watch on \"{}\": the callback threw: {}", prefix_, error.what());
  }
  return true;
}

void EtcdWatch::wait_before_retry(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

}  // namespace pgstack::store
