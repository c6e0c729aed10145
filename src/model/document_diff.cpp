#include "model/document_diff.h"

#include <algorithm>

#include "model/schema.h"

namespace pgstack::model {
namespace {

void diff_values(const std::string& path, const Json* before, const Json* after, std::vector<FieldChange>& out) {
  if (before == nullptr && after == nullptr) return;
  if (before == nullptr) {
    out.push_back({path, FieldChangeKind::kAdded, nullptr, *after});
    return;
  }
  if (after == nullptr) {
    out.push_back({path, FieldChangeKind::kRemoved, *before, nullptr});
    return;
  }
  if (before->is_object() && after->is_object()) {
    for (const auto& [key, value] : before->items()) {
      const auto other = after->find(key);
      diff_values(join_path(path, key), &value, other == after->end() ? nullptr : &*other, out);
    }
    for (const auto& [key, value] : after->items()) {
      if (!before->contains(key)) diff_values(join_path(path, key), nullptr, &value, out);
    }
    return;
  }
  if (before->is_array() && after->is_array()) {
    const std::size_t count = std::max(before->size(), after->size());
    for (std::size_t i = 0; i < count; ++i) {
      diff_values(index_path(path, i), i < before->size() ? &(*before)[i] : nullptr,
                  i < after->size() ? &(*after)[i] : nullptr, out);
    }
    return;
  }
  if (*before != *after) out.push_back({path, FieldChangeKind::kChanged, *before, *after});
}

const Json* member_of(const Json& document, const char* section, const char* key) {
  if (!document.is_object()) return nullptr;
  const auto outer = document.find(section);
  if (outer == document.end()) return nullptr;
  if (key == nullptr) return &*outer;
  if (!outer->is_object()) return nullptr;
  const auto inner = outer->find(key);
  return inner == outer->end() ? nullptr : &*inner;
}

}  // namespace

std::vector<FieldChange> diff_user_fields(const Json& before, const Json& after) {
  std::vector<FieldChange> changes;
  diff_values("metadata.annotations", member_of(before, "metadata", "annotations"),
              member_of(after, "metadata", "annotations"), changes);
  diff_values("metadata.labels", member_of(before, "metadata", "labels"), member_of(after, "metadata", "labels"),
              changes);
  for (const char* section : {"data", "spec"})
    diff_values(section, member_of(before, section, nullptr), member_of(after, section, nullptr), changes);
  std::stable_sort(changes.begin(), changes.end(),
                   [](const FieldChange& a, const FieldChange& b) { return a.path < b.path; });
  return changes;
}

Json field_change_to_json(const FieldChange& change) {
  Json out = {{"path", change.path}};
  switch (change.kind) {
    case FieldChangeKind::kAdded:
      out["op"] = "add";
      out["to"] = change.after;
      break;
    case FieldChangeKind::kRemoved:
      out["op"] = "remove";
      out["from"] = change.before;
      break;
    case FieldChangeKind::kChanged:
      out["op"] = "replace";
      out["from"] = change.before;
      out["to"] = change.after;
      break;
  }
  return out;
}

}  // namespace pgstack::model
