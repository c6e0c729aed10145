// Reading Postgres' csvlog (log_destination = csvlog, a new file each day or 64MB in the instance's log
// directory): why a server stopped while it started or recovered, for the instance's report.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pgstack::agent {

// The message (and detail, if any) of the last FATAL or PANIC that the startup process or the
// postmaster wrote in `csvlog`; client backends' FATALs ("the database system is starting up") are
// not reasons. nullopt when there is none.
std::optional<std::string> last_startup_failure(std::string_view csvlog);

// The same, from the end (the last MiB) of the most recently written *.csv file in `log_dir`.
std::optional<std::string> last_startup_failure_in(const std::filesystem::path& log_dir);

// The last line that shows this data directory cannot follow the primary: a timeline that forked
// before where it is (a former primary's writes past the fork), a missing checkpoint, another
// system. nullopt when there is none, or when streaming from the primary started after it.
std::optional<std::string> divergence_in_log(std::string_view csvlog);

// The same, from the end (the last MiB) of the most recently written *.csv file in `log_dir`.
std::optional<std::string> divergence_in(const std::filesystem::path& log_dir);

}  // namespace pgstack::agent
