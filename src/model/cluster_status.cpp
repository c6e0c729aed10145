#include "model/cluster_status.h"

#include <fmt/format.h>

namespace pgstack::model {
namespace {

Error invalid(std::string_view where, std::string_view expected) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("cluster status: {}: expected {}", where, expected));
}

Json optional_text(const std::optional<std::string>& text) { return text ? Json(*text) : Json(nullptr); }

Json texts(const std::vector<std::string>& list) { return Json(list); }

// A field that may be absent or null (an older controller did not write it).
const Json* field(const Json& object, const char* name) {
  const auto found = object.find(name);
  return found == object.end() || found->is_null() ? nullptr : &*found;
}

Result<bool> read_text(const Json& object, const char* name, std::string& out, std::string_view where) {
  const Json* value = field(object, name);
  if (value == nullptr) return false;
  if (!value->is_string()) return invalid(fmt::format("{}{}", where, name), "a string");
  out = value->get<std::string>();
  return true;
}

Result<bool> read_optional_text(const Json& object, const char* name, std::optional<std::string>& out,
                                std::string_view where) {
  std::string text;
  ASSIGN_OR_RETURN(const bool present, read_text(object, name, text, where));
  if (present) out = std::move(text);
  return present;
}

Result<bool> read_texts(const Json& object, const char* name, std::vector<std::string>& out, std::string_view where) {
  const Json* value = field(object, name);
  if (value == nullptr) return false;
  if (!value->is_array()) return invalid(fmt::format("{}{}", where, name), "a list of strings");
  out.clear();
  for (const auto& item : *value) {
    if (!item.is_string()) return invalid(fmt::format("{}{}", where, name), "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return true;
}

template <typename Integer>
Result<bool> read_integer(const Json& object, const char* name, Integer& out, std::string_view where) {
  const Json* value = field(object, name);
  if (value == nullptr) return false;
  if (!value->is_number_integer()) return invalid(fmt::format("{}{}", where, name), "an integer");
  out = value->get<Integer>();
  return true;
}

template <typename Integer>
Result<bool> read_optional_integer(const Json& object, const char* name, std::optional<Integer>& out,
                                   std::string_view where) {
  Integer number{};
  ASSIGN_OR_RETURN(const bool present, read_integer(object, name, number, where));
  if (present) out = number;
  return present;
}

Result<MemberStatus> member_from_json(const Json& json, std::string_view where) {
  if (!json.is_object()) return invalid(where, "an object");
  const std::string prefix = fmt::format("{}.", where);
  MemberStatus member;
  for (auto [name, target] : {std::pair{"name", &member.name}, std::pair{"host", &member.host},
                              std::pair{"role", &member.role}, std::pair{"state", &member.state}})
    RETURN_IF_ERROR(read_text(json, name, *target, prefix));
  RETURN_IF_ERROR(read_optional_integer(json, "timeline", member.timeline, prefix));
  RETURN_IF_ERROR(read_optional_integer(json, "lagBytes", member.lag_bytes, prefix));
  if (const Json* pending = field(json, "pendingRestart")) {
    if (!pending->is_boolean()) return invalid(prefix + "pendingRestart", "true or false");
    member.pending_restart = pending->get<bool>();
  }
  if (const Json* endpoints = field(json, "endpoints")) {
    if (!endpoints->is_object()) return invalid(prefix + "endpoints", "an object");
    const std::string inner = prefix + "endpoints.";
    RETURN_IF_ERROR(read_text(*endpoints, "postgres", member.endpoints.postgres, inner));
    RETURN_IF_ERROR(read_optional_text(*endpoints, "pgbouncer", member.endpoints.pgbouncer, inner));
    RETURN_IF_ERROR(read_text(*endpoints, "patroni", member.endpoints.patroni, inner));
  }
  return member;
}

Result<ClusterEndpoints> endpoints_from_json(const Json& json) {
  if (!json.is_object()) return invalid("endpoints", "an object");
  constexpr std::string_view kWhere = "endpoints.";
  ClusterEndpoints endpoints;
  RETURN_IF_ERROR(read_texts(json, "readWrite", endpoints.read_write, kWhere));
  RETURN_IF_ERROR(read_texts(json, "readOnly", endpoints.read_only, kWhere));
  RETURN_IF_ERROR(read_texts(json, "readWriteDirect", endpoints.read_write_direct, kWhere));
  RETURN_IF_ERROR(read_texts(json, "readOnlyDirect", endpoints.read_only_direct, kWhere));
  for (auto [name, target] :
       {std::pair{"proxyReadWrite", &endpoints.proxy_read_write},
        std::pair{"proxyReadOnly", &endpoints.proxy_read_only}, std::pair{"proxyAdmin", &endpoints.proxy_admin}}) {
    std::vector<std::string> list;
    ASSIGN_OR_RETURN(const bool present, read_texts(json, name, list, kWhere));
    if (present) *target = std::move(list);
  }
  return endpoints;
}

Result<StatusAlert> alert_from_json(const Json& json, std::string_view where) {
  if (!json.is_object()) return invalid(where, "an object");
  const std::string prefix = fmt::format("{}.", where);
  StatusAlert alert;
  for (auto [name, target] : {std::pair{"name", &alert.name}, std::pair{"severity", &alert.severity},
                              std::pair{"subject", &alert.subject}, std::pair{"since", &alert.since}})
    RETURN_IF_ERROR(read_text(json, name, *target, prefix));
  return alert;
}

Result<StatusEvent> event_from_json(const Json& json, std::string_view where) {
  if (!json.is_object()) return invalid(where, "an object");
  const std::string prefix = fmt::format("{}.", where);
  StatusEvent event;
  for (auto [name, target] :
       {std::pair{"at", &event.at}, std::pair{"member", &event.member}, std::pair{"type", &event.type},
        std::pair{"reason", &event.reason}, std::pair{"message", &event.message}})
    RETURN_IF_ERROR(read_text(json, name, *target, prefix));
  return event;
}

// The fields this file reads and writes; any other top-level field is another writer's section.
constexpr std::string_view kOwnFields[] = {"postgresVersion", "observedAt", "instances",  "additionalInstances",
                                           "primary",         "members",    "endpoints",  "conditions",
                                           "archiving",       "events",     "backups",    "extensions",
                                           "alerts",          "metrics",    "logShipping"};

bool own_field(std::string_view name) {
  for (std::string_view own : kOwnFields) {
    if (own == name) return true;
  }
  return false;
}

}  // namespace

Json condition_to_json(const Condition& condition) {
  return {{"type", condition.type},
          {"status", condition.status},
          {"reason", condition.reason},
          {"message", condition.message},
          {"lastTransitionTime", condition.last_transition_time}};
}

Result<Condition> condition_from_json(const Json& json) {
  if (!json.is_object()) return invalid("conditions[]", "an object");
  constexpr std::string_view kWhere = "conditions[].";
  Condition condition;
  for (auto [name, target] : {std::pair{"type", &condition.type}, std::pair{"status", &condition.status},
                              std::pair{"reason", &condition.reason}, std::pair{"message", &condition.message},
                              std::pair{"lastTransitionTime", &condition.last_transition_time}})
    RETURN_IF_ERROR(read_text(json, name, *target, kWhere));
  if (condition.type.empty()) return invalid("conditions[].type", "a condition type");
  return condition;
}

Json status_event_to_json(const StatusEvent& event) {
  return {{"at", event.at},
          {"type", event.type},
          {"reason", event.reason},
          {"message", event.message},
          {"member", event.member}};
}

Json cluster_status_to_json(const ClusterStatus& status) {
  Json json = status.other_sections.is_object() ? status.other_sections : Json::object();
  json["postgresVersion"] = status.postgres_version;
  json["observedAt"] = status.observed_at;
  json["instances"] = status.instances;
  if (status.additional_instances > 0) json["additionalInstances"] = status.additional_instances;
  json["primary"] = optional_text(status.primary);
  Json members = Json::array();
  for (const auto& member : status.members) {
    members.push_back({{"name", member.name},
                       {"host", member.host},
                       {"role", member.role},
                       {"state", member.state},
                       {"timeline", member.timeline ? Json(*member.timeline) : Json(nullptr)},
                       {"lagBytes", member.lag_bytes ? Json(*member.lag_bytes) : Json(nullptr)},
                       {"pendingRestart", member.pending_restart},
                       {"endpoints",
                        {{"postgres", member.endpoints.postgres},
                         {"pgbouncer", optional_text(member.endpoints.pgbouncer)},
                         {"patroni", member.endpoints.patroni}}}});
  }
  json["members"] = std::move(members);
  const ClusterEndpoints& endpoints = status.endpoints;
  Json endpoints_json = {{"readWrite", texts(endpoints.read_write)},
                         {"readOnly", texts(endpoints.read_only)},
                         {"readWriteDirect", texts(endpoints.read_write_direct)},
                         {"readOnlyDirect", texts(endpoints.read_only_direct)}};
  if (endpoints.proxy_read_write) endpoints_json["proxyReadWrite"] = texts(*endpoints.proxy_read_write);
  if (endpoints.proxy_read_only) endpoints_json["proxyReadOnly"] = texts(*endpoints.proxy_read_only);
  if (endpoints.proxy_admin) endpoints_json["proxyAdmin"] = texts(*endpoints.proxy_admin);
  json["endpoints"] = std::move(endpoints_json);
  Json conditions = Json::array();
  for (const auto& condition : status.conditions) conditions.push_back(condition_to_json(condition));
  json["conditions"] = std::move(conditions);
  if (status.archiving) json["archiving"] = reported_archiving_to_json(*status.archiving);
  Json events = Json::array();
  for (const auto& event : status.events) events.push_back(status_event_to_json(event));
  json["events"] = std::move(events);
  json["backups"] = {{"last", optional_text(status.backups.last)},
                     {"lastCompletedAt", optional_text(status.backups.last_completed_at)},
                     {"count", status.backups.count}};
  if (!status.extensions.is_null()) json["extensions"] = status.extensions;
  if (!status.metrics.is_null()) json["metrics"] = status.metrics;
  if (!status.log_shipping.is_null()) json["logShipping"] = status.log_shipping;
  if (!status.alerts.empty()) {
    Json alerts = Json::array();
    for (const auto& alert : status.alerts)
      alerts.push_back(
          {{"name", alert.name}, {"severity", alert.severity}, {"subject", alert.subject}, {"since", alert.since}});
    json["alerts"] = std::move(alerts);
  }
  return json;
}

Result<ClusterStatus> cluster_status_from_json(const Json& json) {
  if (!json.is_object()) return invalid("status", "an object");
  ClusterStatus status;
  RETURN_IF_ERROR(read_text(json, "postgresVersion", status.postgres_version, ""));
  RETURN_IF_ERROR(read_text(json, "observedAt", status.observed_at, ""));
  RETURN_IF_ERROR(read_integer(json, "instances", status.instances, ""));
  RETURN_IF_ERROR(read_integer(json, "additionalInstances", status.additional_instances, ""));
  RETURN_IF_ERROR(read_optional_text(json, "primary", status.primary, ""));
  if (const Json* members = field(json, "members")) {
    if (!members->is_array()) return invalid("members", "a list");
    for (std::size_t index = 0; index < members->size(); ++index) {
      ASSIGN_OR_RETURN(auto member, member_from_json((*members)[index], fmt::format("members[{}]", index)));
      status.members.push_back(std::move(member));
    }
  }
  if (const Json* endpoints = field(json, "endpoints")) {
    ASSIGN_OR_RETURN(status.endpoints, endpoints_from_json(*endpoints));
  }
  if (const Json* conditions = field(json, "conditions")) {
    if (!conditions->is_array()) return invalid("conditions", "a list");
    for (const auto& item : *conditions) {
      ASSIGN_OR_RETURN(auto condition, condition_from_json(item));
      status.conditions.push_back(std::move(condition));
    }
  }
  if (const Json* archiving = field(json, "archiving")) {
    ASSIGN_OR_RETURN(status.archiving, reported_archiving_from_json(*archiving));
  }
  if (const Json* events = field(json, "events")) {
    if (!events->is_array()) return invalid("events", "a list");
    for (std::size_t index = 0; index < events->size(); ++index) {
      ASSIGN_OR_RETURN(auto event, event_from_json((*events)[index], fmt::format("events[{}]", index)));
      status.events.push_back(std::move(event));
    }
  }
  if (const Json* backups = field(json, "backups")) {
    if (!backups->is_object()) return invalid("backups", "an object");
    RETURN_IF_ERROR(read_optional_text(*backups, "last", status.backups.last, "backups."));
    RETURN_IF_ERROR(read_optional_text(*backups, "lastCompletedAt", status.backups.last_completed_at, "backups."));
    RETURN_IF_ERROR(read_integer(*backups, "count", status.backups.count, "backups."));
  }
  if (const Json* extensions = field(json, "extensions")) {
    if (!extensions->is_array() && !extensions->is_null()) return invalid("extensions", "a list");
    status.extensions = *extensions;
  }
  if (const Json* metrics = field(json, "metrics")) {
    if (!metrics->is_object() && !metrics->is_null()) return invalid("metrics", "an object");
    status.metrics = *metrics;
  }
  if (const Json* shipping = field(json, "logShipping")) {
    if (!shipping->is_object() && !shipping->is_null()) return invalid("logShipping", "an object");
    status.log_shipping = *shipping;
  }
  if (const Json* alerts = field(json, "alerts")) {
    if (!alerts->is_array()) return invalid("alerts", "a list");
    for (std::size_t index = 0; index < alerts->size(); ++index) {
      ASSIGN_OR_RETURN(auto alert, alert_from_json((*alerts)[index], fmt::format("alerts[{}]", index)));
      status.alerts.push_back(std::move(alert));
    }
  }
  for (const auto& [name, value] : json.items()) {
    if (!own_field(name)) status.other_sections[name] = value;
  }
  return status;
}

const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& condition : conditions) {
    if (condition.type == type) return &condition;
  }
  return nullptr;
}

}  // namespace pgstack::model
