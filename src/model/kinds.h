// The resource kinds pgstack accepts (group stackgres.io), their names and the schema of their spec.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/schema.h"

namespace pgstack::model {

inline constexpr std::string_view kApiGroup = "stackgres.io";

struct KindInfo {
  std::string kind;                      // SGCluster
  std::string plural;                    // sgclusters
  std::vector<std::string> short_names;  // sgclu
  std::string api_version;               // stackgres.io/v1
  Field spec;                            // schema of .spec
};

const std::vector<KindInfo>& all_kinds();
// By kind (SGCluster), plural (sgclusters), singular (sgcluster) or short name (sgclu), any case.
const KindInfo* find_kind(std::string_view name);

// The operator owns these postgresql.conf parameters; users may not set them.
const std::vector<std::string>& blocked_postgres_parameters();
// PgBouncer settings pgstack owns (listening, authentication, files).
const std::vector<std::string>& owned_pgbouncer_settings();
// Every setting of PgBouncer 1.18's [pgbouncer] section (it has no machine-readable catalogue).
const std::vector<std::string>& known_pgbouncer_settings();

// metadata.name / metadata.namespace: a DNS-1123 label, as Kubernetes requires.
bool is_valid_resource_name(std::string_view name);

}  // namespace pgstack::model
