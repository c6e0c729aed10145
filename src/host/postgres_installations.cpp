#include "host/postgres_installations.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <pwd.h>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>
#include <sys/types.h>

#include "common/files.h"
#include "common/process.h"

namespace pgstack::host {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultRoot = "/usr/lib/postgresql";
constexpr const char* kSuperuser = "postgres";

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> "15.18".
std::optional<std::string> parse_version(const std::string& output) {
  constexpr std::string_view kMarker = "(PostgreSQL) ";
  const auto at = output.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  const auto begin = at + kMarker.size();
  auto end = begin;
  while (end < output.size() && output[end] != ' ' && output[end] != '\n' && output[end] != '\r') ++end;
  if (end == begin || output[begin] < '0' || output[begin] > '9') return std::nullopt;
  return output.substr(begin, end - begin);
}

int major_of(const std::string& version) {
  int major = 0;
  for (const char c : version) {
    if (c < '0' || c > '9' || major > 100000) break;
    major = major * 10 + (c - '0');
  }
  return major;
}

// The last lines of a log, enough to show why a server did not start without flooding the error.
std::string tail_of(const fs::path& path, std::size_t max_chars = 4000) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "";
  std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (content.size() > max_chars) content = "..." + content.substr(content.size() - max_chars);
  return content;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

// Inside single quotes in postgresql.conf a quote is doubled.
std::string escape_single_quotes(const std::string& text) {
  std::string quoted;
  for (const char c : text) {
    if (c == '\'') quoted.push_back('\'');
    quoted.push_back(c);
  }
  return quoted;
}

// A directory removed with everything in it when this goes out of scope.
class TemporaryDirectory {
 public:
  TemporaryDirectory() = default;
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  ~TemporaryDirectory() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }

  Result<bool> create(const std::string& prefix) {
    std::error_code error;
    const fs::path parent = fs::temp_directory_path(error);
    if (error) return make_error(ErrorCode::kUnavailable, fmt::format("no temporary directory: {}", error.message()));
    std::string pattern = (parent / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      return make_error(ErrorCode::kUnavailable, fmt::format("cannot create a temporary directory in {}: {}",
                                                             parent.string(), std::strerror(errno)));
    path_ = pattern;
    return true;
  }

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Stops the throwaway server on every path out of load, including errors.
class ThrowawayServer {
 public:
  ThrowawayServer(fs::path bin_dir, fs::path data_dir, CommandOptions options)
      : bin_dir_(std::move(bin_dir)), data_dir_(std::move(data_dir)), options_(std::move(options)) {}
  ThrowawayServer(const ThrowawayServer&) = delete;
  ThrowawayServer& operator=(const ThrowawayServer&) = delete;
  ~ThrowawayServer() {
    if (running_) static_cast<void>(stop());
  }

  Result<bool> start(const fs::path& log_file) {
    auto started = run_command({(bin_dir_ / "pg_ctl").string(), "start", "-D", data_dir_.string(), "-w", "-t", "120",
                                "-s", "-l", log_file.string()},
                               options_);
    RETURN_IF_ERROR(started);
    // pg_ctl may have launched a postmaster even if it then gave up waiting.
    running_ = true;
    if (started->exit_code != 0) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("pg_ctl start failed (exit code {}): {}\nserver log:\n{}", started->exit_code,
                                    trimmed(started->standard_error), tail_of(log_file)));
    }
    return true;
  }

  Result<bool> stop() {
    running_ = false;
    auto stopped = run_command(
        {(bin_dir_ / "pg_ctl").string(), "stop", "-D", data_dir_.string(), "-m", "immediate", "-w", "-s"}, options_);
    if (stopped && stopped->exit_code == 0) return true;
    // The temporary directory is about to go away: do not leave its postmaster behind.
    kill_postmaster();
    RETURN_IF_ERROR(stopped);
    return make_error(ErrorCode::kUnavailable, fmt::format("pg_ctl stop failed (exit code {}): {}", stopped->exit_code,
                                                           trimmed(stopped->standard_error)));
  }

 private:
  void kill_postmaster() const {
    std::ifstream pid_file(data_dir_ / "postmaster.pid");
    long pid = 0;
    if (pid_file >> pid && pid > 1) ::kill(static_cast<pid_t>(pid), SIGKILL);
  }

  fs::path bin_dir_;
  fs::path data_dir_;
  CommandOptions options_;
  bool running_ = false;
};

// pg_settings prints real bounds with %g, so DBL_MAX comes back as 1.79769e+308.
std::optional<double> parse_bound(const nlohmann::json& text) {
  if (!text.is_string()) return std::nullopt;
  const std::string value = text.get<std::string>();
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (end == value.c_str()) return std::nullopt;
  constexpr double kPrintedMax = 1.79769e+308;
  if (number >= kPrintedMax) return std::numeric_limits<double>::max();
  if (number <= -kPrintedMax) return std::numeric_limits<double>::lowest();
  return number;
}

std::string string_or_empty(const nlohmann::json& row, const char* key) {
  const auto found = row.find(key);
  if (found == row.end() || !found->is_string()) return "";
  return found->get<std::string>();
}

Result<model::ParameterCatalog> catalog_from_pg_settings(const PostgresInstallation& installation,
                                                         const std::string& output) {
  const auto rows = nlohmann::json::parse(output, nullptr, false);
  if (rows.is_discarded() || !rows.is_array())
    return make_error(
        ErrorCode::kUnavailable,
        fmt::format("pg_settings query returned something other than a JSON array: {}", output.substr(0, 200)));
  std::vector<model::ParameterSpec> parameters;
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    model::ParameterSpec spec;
    spec.name = string_or_empty(row, "name");
    const std::string vartype = string_or_empty(row, "vartype");
    if (vartype == "bool") {
      spec.type = model::ParameterType::kBool;
    } else if (vartype == "integer") {
      spec.type = model::ParameterType::kInteger;
    } else if (vartype == "real") {
      spec.type = model::ParameterType::kReal;
    } else if (vartype == "enum") {
      spec.type = model::ParameterType::kEnum;
    } else if (vartype == "string") {
      spec.type = model::ParameterType::kString;
    } else {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("pg_settings: parameter '{}' has unknown vartype '{}'", spec.name, vartype));
    }
    spec.context = string_or_empty(row, "context");
    spec.unit = string_or_empty(row, "unit");
    if (spec.type == model::ParameterType::kInteger || spec.type == model::ParameterType::kReal) {
      spec.min_value = parse_bound(row.value("min_val", nlohmann::json()));
      spec.max_value = parse_bound(row.value("max_val", nlohmann::json()));
    }
    if (const auto values = row.find("enumvals"); values != row.end() && values->is_array()) {
      for (const auto& value : *values) {
        if (value.is_string()) spec.enum_values.push_back(value.get<std::string>());
      }
    }
    spec.default_value = string_or_empty(row, "boot_val");
    spec.short_description = string_or_empty(row, "short_desc");
    if (!spec.name.empty()) parameters.push_back(std::move(spec));
  }
  if (parameters.empty()) return make_error(ErrorCode::kUnavailable, "pg_settings returned no parameters");
  // Round-trip through the JSON form so that a catalogue from the server obeys the same checks as a cached one.
  return model::ParameterCatalog::from_json(
      model::ParameterCatalog(installation.major, installation.version, std::move(parameters)).to_json());
}

constexpr const char* kPgSettingsQuery =
    "SELECT coalesce(json_agg(json_build_object("
    "'name', name, 'vartype', vartype, 'context', context, 'unit', unit, 'min_val', min_val, "
    "'max_val', max_val, 'enumvals', enumvals, 'boot_val', boot_val, 'short_desc', short_desc) ORDER BY name), '[]') "
    "FROM pg_settings";

Result<model::ParameterCatalog> query_catalog(const PostgresInstallation& installation) {
  const auto user = unprivileged_service_user();

  TemporaryDirectory scratch;
  RETURN_IF_ERROR(scratch.create("pgstack-catalog-"));
  const fs::path& dir = scratch.path();
  if (user) {
    // Postgres refuses to run as root, so the directory must belong to the user it runs as.
    const passwd* entry = ::getpwnam(user->c_str());
    if (entry == nullptr)
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("system user '{}' does not exist; Postgres refuses to run as root", *user));
    if (::chown(dir.c_str(), entry->pw_uid, entry->pw_gid) != 0)
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("cannot give {} to user '{}': {}", dir.string(), *user, std::strerror(errno)));
  }

  CommandOptions options;
  options.run_as_user = user;
  options.working_directory = dir.string();
  // English messages in errors and a locale that exists everywhere.
  options.extra_environment = {{"LC_ALL", "C"}, {"LANG", "C"}};

  const fs::path data_dir = dir / "data";
  const fs::path bin_dir = installation.bin_dir;
  auto initdb = run_command({(bin_dir / "initdb").string(), "-D", data_dir.string(), "-U", kSuperuser, "-A", "trust",
                             "-E", "UTF8", "--locale=C", "--no-sync"},
                            options);
  RETURN_IF_ERROR(initdb);
  if (initdb->exit_code != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("initdb {} failed (exit code {}): {}", data_dir.string(),
                                                           initdb->exit_code, trimmed(initdb->standard_error)));

  // Appending keeps the file's owner; the server reads it as that user.
  {
    std::ofstream config(data_dir / "postgresql.conf", std::ios::app);
    config << "\n# pgstack: a private server that only answers pg_settings\n"
           << "listen_addresses = ''\n"
           << "unix_socket_directories = '" << escape_single_quotes(dir.string()) << "'\n"
           << "port = 5432\n"
           << "shared_preload_libraries = 'pg_stat_statements,auto_explain'\n"
           << "shared_buffers = '16MB'\n"
           << "fsync = off\n"
           << "logging_collector = off\n";
    if (!config.flush())
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("cannot append to {}", (data_dir / "postgresql.conf").string()));
  }

  ThrowawayServer server(bin_dir, data_dir, options);
  RETURN_IF_ERROR(server.start(dir / "server.log"));

  auto query = run_command({(bin_dir / "psql").string(), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                            dir.string(), "-p", "5432", "-U", kSuperuser, "-d", "postgres", "-c", kPgSettingsQuery},
                           options);
  RETURN_IF_ERROR(query);
  if (query->exit_code != 0)
    return make_error(ErrorCode::kUnavailable, fmt::format("psql query of pg_settings failed (exit code {}): {}",
                                                           query->exit_code, trimmed(query->standard_error)));
  auto catalog = catalog_from_pg_settings(installation, query->standard_output);

  RETURN_IF_ERROR(server.stop());
  return catalog;
}

// Only names a shell or a file system never misreads.
std::string file_name_safe(const std::string& text) {
  std::string safe;
  for (const char c : text) {
    const bool plain =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_';
    safe.push_back(plain ? c : '_');
  }
  return safe;
}

std::optional<model::ParameterCatalog> read_cached_catalog(const fs::path& path,
                                                           const PostgresInstallation& installation) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return std::nullopt;
  auto content = read_file(path);
  if (!content) return std::nullopt;
  const auto json = nlohmann::json::parse(content.value(), nullptr, false);
  if (json.is_discarded()) return std::nullopt;
  auto catalog = model::ParameterCatalog::from_json(json);
  // A stale or foreign file is rebuilt rather than trusted.
  if (!catalog || catalog->major_version() != installation.major || catalog->server_version() != installation.version ||
      catalog->size() == 0)
    return std::nullopt;
  return std::move(catalog).value();
}

}  // namespace

std::vector<PostgresInstallation> find_postgres_installations() {
  const fs::path root = environment("PGSTACK_POSTGRES_ROOT").value_or(kDefaultRoot);
  std::vector<PostgresInstallation> installations;
  std::error_code error;
  for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
    const fs::path bin_dir = it->path() / "bin";
    const fs::path postgres = bin_dir / "postgres";
    std::error_code ignored;
    if (!fs::is_regular_file(postgres, ignored) || ::access(postgres.c_str(), X_OK) != 0) continue;
    // `postgres --version` is answered before the refusal to run as root.
    auto output = run_command({postgres.string(), "--version"});
    if (!output || output->exit_code != 0) continue;
    const auto version = parse_version(output->standard_output);
    if (!version) continue;
    // Before 10 a major was two numbers (9.6); those are not supported.
    const int major = major_of(*version);
    if (major < 10) continue;
    installations.push_back({major, *version, bin_dir});
  }
  std::sort(installations.begin(), installations.end(),
            [](const PostgresInstallation& a, const PostgresInstallation& b) { return a.major < b.major; });
  return installations;
}

Result<model::ParameterCatalog> load_parameter_catalog(const PostgresInstallation& installation,
                                                       const fs::path& cache_dir) {
  const fs::path cache_file =
      cache_dir / fmt::format("postgres-{}-parameters.json", file_name_safe(installation.version));
  if (auto cached = read_cached_catalog(cache_file, installation)) return std::move(*cached);

  auto catalog = query_catalog(installation);
  if (!catalog) {
    return make_error(catalog.error().code,
                      fmt::format("cannot read the parameter catalogue of Postgres {} ({}): {}", installation.version,
                                  installation.bin_dir.string(), catalog.error().message));
  }
  std::error_code error;
  fs::create_directories(cache_dir, error);
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot create cache directory {}: {}", cache_dir.string(), error.message()));
  RETURN_IF_ERROR(write_file_atomically(cache_file, catalog->to_json().dump(1) + "\n"));
  return catalog;
}

std::string parse_pgbouncer_version(const std::string& output) {
  constexpr std::string_view kMarker = "PgBouncer ";
  if (!output.starts_with(kMarker)) return "";
  auto end = kMarker.size();
  while (end < output.size() && ((output[end] >= '0' && output[end] <= '9') || output[end] == '.')) ++end;
  return output.substr(kMarker.size(), end - kMarker.size());
}

std::string find_pgbouncer_version() {
  auto output = run_command({"pgbouncer", "--version"});
  if (!output || output->exit_code != 0) return "";
  return parse_pgbouncer_version(output->standard_output);
}

fs::path default_cache_dir() {
  if (const auto dir = environment("PGSTACK_CACHE_DIR")) return *dir;
  if (const auto dir = environment("XDG_CACHE_HOME")) return fs::path(*dir) / "pgstack";
  if (const auto home = environment("HOME")) return fs::path(*home) / ".cache" / "pgstack";
  // No home at all (a bare service): the system temporary directory still works.
  std::error_code ignored;
  return fs::temp_directory_path(ignored) / "pgstack-cache";
}

}  // namespace pgstack::host
