// Host labels and node selectors: a host carries labels (pgstack up/join --label zone=a), an SGCluster's
// pods.scheduling.nodeSelector names the labels its members' hosts must have. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace pgstack::model {

using Labels = std::map<std::string, std::string>;

// Kubernetes' shapes: a key of up to 253 characters of letters, digits, '-', '_', '.' and '/' (a prefix
// such as topology.kubernetes.io/zone); a value of up to 63 letters, digits, '-', '_' or '.'.
bool is_label_key(std::string_view key);
bool is_label_value(std::string_view value);

// "key=value", or why it is not one.
std::optional<std::pair<std::string, std::string>> parse_label(std::string_view text, std::string& error);

// Whether `labels` has every key of `selector` with the same value (an empty selector matches all).
bool matches_selector(const Labels& labels, const Labels& selector);

// The string members of a JSON object (a host's registered "labels"); anything else is no labels.
Labels labels_from(const nlohmann::ordered_json& object);

// "zone=a,disk=ssd"; "no labels" when empty.
std::string describe_labels(const Labels& labels);

}  // namespace pgstack::model
