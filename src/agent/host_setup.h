// What the agent needs from this host before its loops start, filled into AgentSettings: the state
// directory (made), the CA and the agent's own client certificate, the user the instances run as
// (postgres when the agent runs as root: Postgres refuses root) and the programs installed next to
// the agent. Errors name the flag or what the host lacks.
#pragma once

#include <string>

#include "agent/agent.h"
#include "common/error.h"

namespace pgstack::agent {

// `state_dir` and `ca_dir` as given on the command line (`ca_dir` empty: <state-dir>/pki);
// settings.host_name and certificate_lifetime must be set.
Result<bool> prepare_host(AgentSettings& settings, const std::string& state_dir, const std::string& ca_dir);

}  // namespace pgstack::agent
