// Pure decisions of pooled listeners: which startup parameters a pooled client may send, the SET that
// brings a server connection to the client's settings before it is handed over, and when a server
// connection may go back to the pool in transaction mode.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "pgwire/messages.h"

namespace pgstack::proxy {

// Settings a client asked for, lower-case name -> value. Only GUCs Postgres reports with
// ParameterStatus: the pool sees every change to them, so it can restore them on any server connection
// (PgBouncer tracks the same set).
using ClientSettings = std::map<std::string, std::string>;

// The client's settings from its StartupMessage, or an error naming what a pool cannot carry (the
// `options` switch, replication, protocol extensions), as PgBouncer refuses them.
Result<ClientSettings> pooled_startup_settings(const std::vector<pgwire::StartupParameter>& parameters);

// Whether a reported parameter is one the pool carries from connection to connection.
bool tracked_setting(std::string_view lower_name);

// "SET a TO 'x'; SET b TO 'y'" for the settings whose value on the server differs; "" when none does.
std::string settings_sync_sql(const ClientSettings& wanted, const std::map<std::string, std::string>& server);

// Transaction mode: a server connection goes back to the pool only between transactions, with every
// message the client sent answered and nothing that binds the client to it.
struct ReleaseState {
  bool idle = true;       // the last ReadyForQuery said 'I'
  int unanswered = 0;     // Query, Sync and FunctionCall sent, minus ReadyForQuery received
  bool unsynced = false;  // extended-protocol messages since the last Sync
  bool client_at_boundary = true;
  bool server_at_boundary = true;
  bool pinned = false;  // a named prepared statement lives on this server connection
};
bool may_release(const ReleaseState& state);

}  // namespace pgstack::proxy
