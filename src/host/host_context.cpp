#include "host/host_context.h"

#include <fmt/format.h>

#include "host/postgres_installations.h"

namespace pgstack::host {

HostValidationContext::HostValidationContext() {
  const auto installations = find_postgres_installations();
  for (const auto& installation : installations)
    context_.installed_postgres.push_back({installation.major, installation.version});
  context_.pgbouncer_version = find_pgbouncer_version();
  context_.parameter_catalog = [state = state_, installations](int major) -> const model::ParameterCatalog* {
    if (auto found = state->catalogues.find(major); found != state->catalogues.end()) return found->second.get();
    for (const auto& installation : installations) {
      if (installation.major != major) continue;
      auto loaded = load_parameter_catalog(installation, default_cache_dir());
      if (!loaded.ok()) {
        state->problem = loaded.error().message;
        state->catalogues[major] = nullptr;
        return nullptr;
      }
      state->catalogues[major] = std::make_unique<model::ParameterCatalog>(std::move(loaded).value());
      return state->catalogues[major].get();
    }
    return nullptr;
  };
}

}  // namespace pgstack::host
