#include "store/resource_store.h"

#include <charconv>
#include <map>
#include <random>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "common/time.h"
#include "model/kinds.h"

namespace pgstack::store {
namespace {

using model::Json;

constexpr int kReplaceAttempts = 5;

struct ObjectRef {
  const model::KindInfo* kind = nullptr;
  std::string ns;
  std::string name;

  std::string label() const { return fmt::format("{} \"{}\" in namespace \"{}\"", kind->kind, name, ns); }
};

Result<const model::KindInfo*> resolve_kind(std::string_view kind) {
  const model::KindInfo* info = model::find_kind(kind);
  if (info == nullptr)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("unknown kind \"{}\": expected one of the stackgres.io kinds, e.g. SGCluster", kind));
  return info;
}

// Names become parts of etcd keys, so anything that is not a DNS label (a "/" above all) is refused.
Result<ObjectRef> resolve(std::string_view kind, std::string_view ns, std::string_view name) {
  auto info = resolve_kind(kind);
  RETURN_IF_ERROR(info);
  ObjectRef ref{*info, ns.empty() ? std::string("default") : std::string(ns), std::string(name)};
  if (!model::is_valid_resource_name(ref.name))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{} name \"{}\" is invalid: expected a DNS-1123 label (lower-case letters, digits, "
                                  "'-', at most 63 characters)",
                                  ref.kind->kind, ref.name));
  if (!model::is_valid_resource_name(ref.ns))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("namespace \"{}\" is invalid: expected a DNS-1123 label", ref.ns));
  return ref;
}

Result<ObjectRef> resolve(const model::Document& document) {
  if (!document.body.is_object())
    return make_error(ErrorCode::kInvalidInput, fmt::format("{}: the document is not an object", document.label()));
  return resolve(document.kind(), document.namespace_name(), document.name());
}

std::string new_uid() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::random_device random;
    for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string uid;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) uid += '-';
    uid += fmt::format("{:02x}", bytes[i]);
  }
  return uid;
}

// nullopt when not set; kInvalidInput when set to something that is not a revision.
Result<std::optional<std::int64_t>> requested_version(const model::Document& document) {
  const Json& body = document.body;
  if (!body.contains("metadata") || !body["metadata"].is_object() || !body["metadata"].contains("resourceVersion"))
    return std::optional<std::int64_t>();
  const Json& version = body["metadata"]["resourceVersion"];
  if (version.is_null()) return std::optional<std::int64_t>();
  if (version.is_number_integer()) return std::optional<std::int64_t>(version.get<std::int64_t>());
  if (version.is_string()) {
    const auto& text = version.get_ref<const std::string&>();
    if (text.empty()) return std::optional<std::int64_t>();
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && value > 0)
      return std::optional<std::int64_t>(value);
  }
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("{}: metadata.resourceVersion {} is invalid: expected the value a read returned",
                                document.label(), version.dump()));
}

// The body as stored: canonical kind, explicit namespace, no resourceVersion and no status.
Json stored_body(const model::Document& document, const ObjectRef& ref) {
  Json body = document.body;
  body["kind"] = ref.kind->kind;
  if (!body.contains("metadata") || !body["metadata"].is_object()) body["metadata"] = Json::object();
  Json& metadata = body["metadata"];
  metadata["namespace"] = ref.ns;
  metadata.erase("resourceVersion");
  body.erase("status");
  return body;
}

Error conflict(const ObjectRef& ref, std::int64_t requested, std::int64_t current) {
  return make_error(ErrorCode::kConflict,
                    fmt::format("{}: the object has been modified; read it again and retry (resourceVersion {}, "
                                "current {})",
                                ref.label(), requested, current));
}

Error not_found(const ObjectRef& ref) {
  return make_error(ErrorCode::kNotFound,
                    fmt::format("{} \"{}\" not found in namespace \"{}\"", ref.kind->kind, ref.name, ref.ns));
}

}  // namespace

ResourceStore::ResourceStore(const EtcdClient& client, std::string prefix)
    : client_(client), prefix_(std::move(prefix)) {
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

std::string ResourceStore::key_under(std::string_view area, std::string_view plural, std::string_view ns,
                                     std::string_view name) const {
  return fmt::format("{}/{}/{}/{}/{}", prefix_, area, plural, ns, name);
}

Result<std::string> ResourceStore::resource_key(std::string_view kind, std::string_view ns,
                                                std::string_view name) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  return key_under("resources", ref->kind->plural, ref->ns, ref->name);
}

Result<std::string> ResourceStore::status_key(std::string_view kind, std::string_view ns, std::string_view name) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  return key_under("status", ref->kind->plural, ref->ns, ref->name);
}

Result<model::Document> ResourceStore::decode(const KeyValue& kv) const {
  Json body = Json::parse(kv.value, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return make_error(ErrorCode::kInternal, fmt::format("etcd key \"{}\" does not hold a JSON object", kv.key));
  if (!body.contains("metadata") || !body["metadata"].is_object()) body["metadata"] = Json::object();
  body["metadata"]["resourceVersion"] = std::to_string(kv.mod_revision);
  return model::Document{kv.key, 0, std::move(body)};
}

Result<model::Document> ResourceStore::create(const model::Document& document) const {
  auto ref = resolve(document);
  RETURN_IF_ERROR(ref);
  Json body = stored_body(document, *ref);
  body["metadata"]["uid"] = new_uid();
  body["metadata"]["creationTimestamp"] = utc_timestamp_now();
  const std::string key = key_under("resources", ref->kind->plural, ref->ns, ref->name);
  auto written = client_.put_if(key, body.dump(), 0);
  if (!written) {
    if (written.error().code == ErrorCode::kConflict)
      return make_error(ErrorCode::kAlreadyExists, fmt::format("{} already exists", ref->label()));
    return written.error();
  }
  body["metadata"]["resourceVersion"] = std::to_string(*written);
  return model::Document{key, 0, std::move(body)};
}

Result<model::Document> ResourceStore::get(std::string_view kind, std::string_view ns, std::string_view name) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  auto kv = client_.get(key_under("resources", ref->kind->plural, ref->ns, ref->name));
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return not_found(*ref);
  return decode(**kv);
}

Result<std::vector<model::Document>> ResourceStore::list(std::string_view kind, std::string_view ns) const {
  auto info = resolve_kind(kind);
  RETURN_IF_ERROR(info);
  if (!ns.empty() && !model::is_valid_resource_name(ns))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("namespace \"{}\" is invalid: expected a DNS-1123 label", ns));
  std::string prefix = fmt::format("{}/resources/{}/", prefix_, (*info)->plural);
  if (!ns.empty()) prefix += fmt::format("{}/", ns);
  auto range = client_.get_prefix(prefix);
  RETURN_IF_ERROR(range);
  std::vector<model::Document> documents;
  documents.reserve(range->items.size());
  for (const KeyValue& kv : range->items) {
    auto document = decode(kv);
    RETURN_IF_ERROR(document);
    documents.push_back(std::move(document).value());
  }
  return documents;
}

Result<std::vector<model::Document>> ResourceStore::list_with_status(std::string_view kind, std::string_view ns) const {
  auto listed = list(kind, ns);
  RETURN_IF_ERROR(listed);
  std::vector<model::Document> documents = std::move(listed).value();
  auto info = resolve_kind(kind);
  RETURN_IF_ERROR(info);
  std::string prefix = fmt::format("{}/status/{}/", prefix_, (*info)->plural);
  if (!ns.empty()) prefix += fmt::format("{}/", ns);
  auto statuses = client_.get_prefix(prefix);
  RETURN_IF_ERROR(statuses);
  std::map<std::string, const KeyValue*, std::less<>> status_by_key;
  for (const KeyValue& kv : statuses->items) status_by_key.emplace(kv.key, &kv);
  for (model::Document& document : documents) {
    const std::string key = key_under("status", (*info)->plural, document.namespace_name(), document.name());
    const auto found = status_by_key.find(key);
    if (found == status_by_key.end()) continue;
    Json status = Json::parse(found->second->value, nullptr, false);
    if (status.is_discarded())
      return make_error(ErrorCode::kInternal, fmt::format("etcd key \"{}\" does not hold JSON", key));
    document.body["status"] = std::move(status);
  }
  return documents;
}

Result<model::Document> ResourceStore::replace(const model::Document& document) const {
  auto ref = resolve(document);
  RETURN_IF_ERROR(ref);
  auto requested = requested_version(document);
  RETURN_IF_ERROR(requested);
  const std::string key = key_under("resources", ref->kind->plural, ref->ns, ref->name);
  Json body = stored_body(document, *ref);

  // Without a resourceVersion the caller asked for a plain overwrite: retry when someone else won.
  for (int attempt = 0; attempt < kReplaceAttempts; ++attempt) {
    auto current = client_.get(key);
    RETURN_IF_ERROR(current);
    if (!current->has_value()) return not_found(*ref);
    const KeyValue& stored = **current;
    if (*requested && **requested != stored.mod_revision) return conflict(*ref, **requested, stored.mod_revision);

    // uid and creationTimestamp belong to the object, not to whoever replaces it.
    const Json old_body = Json::parse(stored.value, nullptr, false);
    if (old_body.is_object() && old_body.contains("metadata") && old_body["metadata"].is_object()) {
      for (const char* field : {"uid", "creationTimestamp"}) {
        if (old_body["metadata"].contains(field)) body["metadata"][field] = old_body["metadata"][field];
      }
    }
    auto written = client_.put_if(key, body.dump(), stored.mod_revision);
    if (written) {
      body["metadata"]["resourceVersion"] = std::to_string(*written);
      return model::Document{key, 0, std::move(body)};
    }
    if (written.error().code != ErrorCode::kConflict) return written.error();
    // Changed since we read it: the next round reports the conflict (or retries an overwrite).
  }
  return make_error(
      ErrorCode::kConflict,
      fmt::format("{}: the object kept changing while it was being replaced; read it again and retry", ref->label()));
}

Result<ResourceStore::WritePreview> ResourceStore::preview_create(const model::Document& document) const {
  auto ref = resolve(document);
  RETURN_IF_ERROR(ref);
  const std::string key = key_under("resources", ref->kind->plural, ref->ns, ref->name);
  auto current = client_.get(key);
  RETURN_IF_ERROR(current);
  if (current->has_value())
    return make_error(ErrorCode::kAlreadyExists, fmt::format("{} already exists", ref->label()));
  Json body = stored_body(document, *ref);
  body["metadata"]["creationTimestamp"] = utc_timestamp_now();
  return WritePreview{model::Document{key, 0, std::move(body)}, std::nullopt};
}

Result<ResourceStore::WritePreview> ResourceStore::preview_replace(const model::Document& document) const {
  auto ref = resolve(document);
  RETURN_IF_ERROR(ref);
  auto requested = requested_version(document);
  RETURN_IF_ERROR(requested);
  const std::string key = key_under("resources", ref->kind->plural, ref->ns, ref->name);
  auto current = client_.get(key);
  RETURN_IF_ERROR(current);
  if (!current->has_value()) return not_found(*ref);
  const KeyValue& stored = **current;
  if (*requested && **requested != stored.mod_revision) return conflict(*ref, **requested, stored.mod_revision);
  auto old_document = decode(stored);
  RETURN_IF_ERROR(old_document);
  Json body = stored_body(document, *ref);
  const Json& old_metadata = old_document->body["metadata"];
  for (const char* field : {"uid", "creationTimestamp"}) {
    if (old_metadata.contains(field)) body["metadata"][field] = old_metadata[field];
  }
  body["metadata"]["resourceVersion"] = std::to_string(stored.mod_revision);
  return WritePreview{model::Document{key, 0, std::move(body)}, std::move(old_document).value()};
}

Result<bool> ResourceStore::remove(std::string_view kind, std::string_view ns, std::string_view name) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  auto removed = client_.remove(key_under("resources", ref->kind->plural, ref->ns, ref->name));
  RETURN_IF_ERROR(removed);
  if (!*removed) return not_found(*ref);
  auto status_removed = client_.remove(key_under("status", ref->kind->plural, ref->ns, ref->name));
  RETURN_IF_ERROR(status_removed);
  return true;
}

Result<std::int64_t> ResourceStore::put_status(std::string_view kind, std::string_view ns, std::string_view name,
                                               const model::Json& status) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  auto exists = client_.get(key_under("resources", ref->kind->plural, ref->ns, ref->name));
  RETURN_IF_ERROR(exists);
  if (!exists->has_value()) return not_found(*ref);
  return client_.put(key_under("status", ref->kind->plural, ref->ns, ref->name), status.dump());
}

Result<std::optional<model::Json>> ResourceStore::get_status(std::string_view kind, std::string_view ns,
                                                             std::string_view name) const {
  auto ref = resolve(kind, ns, name);
  RETURN_IF_ERROR(ref);
  const std::string key = key_under("status", ref->kind->plural, ref->ns, ref->name);
  auto kv = client_.get(key);
  RETURN_IF_ERROR(kv);
  if (!kv->has_value()) return std::optional<model::Json>();
  Json status = Json::parse((*kv)->value, nullptr, false);
  if (status.is_discarded())
    return make_error(ErrorCode::kInternal, fmt::format("etcd key \"{}\" does not hold JSON", key));
  return std::optional<model::Json>(std::move(status));
}

}  // namespace pgstack::store
