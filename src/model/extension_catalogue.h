// Which Debian package provides a Postgres extension for a major, and whether the server must preload
// its library (shared_preload_libraries) before CREATE EXTENSION works. Pure, no I/O.
//
// The table is data, not rules: it was read from the control files and libraries of Debian 12's
// postgresql-15-* packages (scripts/list-extension-packages prints it again from the archive), and
// tests/integration/extensions checks every package name against apt-cache. Preloading is what each
// extension's documentation requires for CREATE EXTENSION or its core function to work; libraries
// that only offer an optional preload (pg_prewarm, plprofiler, pg_partman's background worker) are
// not preloaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace pgstack::model {

// The major whose packages the table was read from; the names are the same for the other majors.
inline constexpr int kCatalogueMajor = 15;

struct CatalogueExtension {
  std::string_view name;     // as in CREATE EXTENSION (its control file's name)
  std::string_view package;  // "postgresql-{major}-cron"; "{major}" is replaced; contrib: "postgresql-{major}"
  std::string_view preload;  // the library for shared_preload_libraries; empty: none needed
  bool contrib = false;      // shipped with the server package itself (postgresql-{major})
};

// Every extension pgstack knows, contrib first, then the packaged ones by name.
const std::vector<CatalogueExtension>& extension_catalogue();

// One requested extension as the host must provide it.
struct ResolvedExtension {
  std::string name;
  std::string package;  // "postgresql-15-cron", or "postgresql-15" for contrib
  std::string preload;  // empty: none
  bool contrib = false;
  bool operator==(const ResolvedExtension&) const = default;
};

// The package for `name` on `major`; an unknown name is kInvalidInput saying which known names are close.
Result<ResolvedExtension> resolve_extension(std::string_view name, int major);

// Known names within a typo's reach of `name` (edit distance, or one containing the other), closest first, at
// most `limit`.
std::vector<std::string> near_extension_names(std::string_view name, std::size_t limit = 3);

// `current` (a shared_preload_libraries value: "pg_stat_statements, auto_explain") with each of `libraries`
// appended unless it is there already; order kept, quotes and blanks around names dropped.
std::string merge_preload_libraries(std::string_view current, const std::vector<std::string>& libraries);

// The libraries of a shared_preload_libraries value, in order.
std::vector<std::string> split_preload_libraries(std::string_view value);

}  // namespace pgstack::model
