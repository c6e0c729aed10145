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
#include "proxy/proxy_config.h"

namespace pgstack::proxy {

// Settings a client asked for, lower-case name -> value. Only GUCs Postgres reports with
// ParameterStatus: the pool sees every change to them, so it can restore them on any server connection
// (PgBouncer tracks the same set).
using ClientSettings = std::map<std::string, std::string>;

// What a pooled client's StartupMessage asked for. `reported`: GUCs Postgres reports, followed through
// every SET. `other`: any other setting, given as a parameter (statement_timeout=5s) or in `options`
// (-c search_path=app, --work_mem=64MB): set on each server connection the client gets, reset on the
// next client's when that one did not ask for it (a SET of it inside a transaction-mode session is
// not seen, as with PgBouncer).
struct PooledStartup {
  ClientSettings reported;
  ClientSettings other;
};

// The client's settings, or an error naming what a pool cannot carry (replication, protocol
// extensions, an `options` switch other than -c/--name=value, a name that is not a setting's).
Result<PooledStartup> pooled_startup_settings(const std::vector<pgwire::StartupParameter>& parameters);

// Whether a reported parameter is one the pool carries from connection to connection.
bool tracked_setting(std::string_view lower_name);

// "SET a TO 'x'; SET b TO 'y'" for the settings whose value on the server differs; "" when none does.
std::string settings_sync_sql(const ClientSettings& wanted, const std::map<std::string, std::string>& server);
// The same for the other settings, against those an earlier client had set on the server connection:
// SET what differs, RESET what this client did not ask for.
std::string other_settings_sync_sql(const ClientSettings& wanted, const ClientSettings& applied);

// The pool a client of `database` and `user` gets on a pooled listener: the user's mode, else its
// database's ([databases] entry, else "*"), else the listener's; the database's pool size, else the
// listener's; and the database its server connections log in to (the entry's dbname, else the same).
struct ClientPool {
  PoolMode mode = PoolMode::kTransaction;
  int pool_size = 20;
  std::string server_database;
};
ClientPool client_pool(const PoolingConfig& pooling, const std::string& database, const std::string& user);

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
