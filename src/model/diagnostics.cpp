#include "model/diagnostics.h"

#include <algorithm>

#include <fmt/format.h>

namespace pgstack::model {

std::string Diagnostic::to_string() const {
  std::string text = source;
  if (!document.empty()) text += (text.empty() ? "" : ": ") + document;
  if (!path.empty()) text += " " + path;
  const char* prefix = severity == Severity::kDeferred  ? "deferred: "
                       : severity == Severity::kWarning ? "warning: "
                       : severity == Severity::kNote    ? "note: "
                                                        : "";
  return fmt::format("{}: {}{}", text, prefix, message);
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

std::size_t Diagnostics::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

}  // namespace pgstack::model
