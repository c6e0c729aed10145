// What replacing a document changes: the parts a user owns (spec, data, metadata.labels and
// metadata.annotations), leaf by leaf, named by the field paths the validator's diagnostics use
// ("spec.instances", "spec.configurations.backups[0].cronSchedule"). Pure, no I/O.
#pragma once

#include <string>
#include <vector>

#include "model/document.h"

namespace pgstack::model {

enum class FieldChangeKind { kAdded, kRemoved, kChanged };

struct FieldChange {
  std::string path;
  FieldChangeKind kind = FieldChangeKind::kChanged;
  Json before;  // null when added
  Json after;   // null when removed
};

// Objects are compared key by key; arrays element by element while both have one at an index (a
// longer or shorter array adds or removes the tail); anything else is a leaf. Sorted by path.
std::vector<FieldChange> diff_user_fields(const Json& before, const Json& after);

// {"path": ..., "op": "add"|"remove"|"replace", "from": ..., "to": ...} (from/to absent when not there).
Json field_change_to_json(const FieldChange& change);

}  // namespace pgstack::model
