// Named prepared statements under transaction pooling (as PgBouncer 1.21+ and PgCat do): a client's
// statements outlive its transactions, but the server connection it has does not. Each Parse of a named
// statement gets a server-side name from its text and parameter types ("pgstack_<digest>"), so one
// server connection serves the same statement to every client; a Bind or Describe on a connection that
// has not prepared it yet is preceded by that Parse, and the ParseComplete it brings is dropped before
// the client sees it. A client's Close closes the server's statement. Pure: whole messages in, bytes out.
#pragma once

#include <cstdint>
#include <list>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pgstack::proxy {

// What one server connection has prepared (kept with it in the pool).
struct ServerStatements {
  std::set<std::string> prepared;  // confirmed by a ParseComplete
  std::set<std::string> pending;   // Parse sent, not answered yet
  bool has(const std::string& name) const { return prepared.contains(name) || pending.contains(name); }
};

class StatementRewriter {
 public:
  // One whole client message (`wire`: type byte, length, body): appends what goes to the server to `out`.
  void on_client_message(char type, std::string_view body, std::string_view wire, ServerStatements& server,
                         std::string& out);
  // One whole server message: whether it goes on to the client.
  bool on_server_message(char type, std::string_view body, ServerStatements& server);
  // A client between transactions that only prepares named statements (Parses, then a Sync, as
  // PQprepare sends) needs no server connection when every statement is `known` (parsed without error
  // on a connection of this pool, by its server-side name): they are recorded, and Postgres's answer
  // (ParseComplete each, ReadyForQuery idle) is appended to `reply`. False, and nothing recorded,
  // otherwise. A statement that no longer parses (a table dropped since) fails at its Bind instead.
  bool answer_prepare_locally(std::string_view frame, const std::set<std::string>& known, std::string& reply);
  // Whether some server answers still need looking at (otherwise server bytes may pass unframed).
  bool expecting_answers() const { return !fates_.empty(); }
  std::size_t statements() const { return statements_.size(); }
  std::uint64_t injected_parses() const { return injected_parses_; }

 private:
  struct Statement {
    std::string server_name;
    std::string parse;  // the Parse message to send to a server connection that lacks it
  };
  // What to do with the answer to a Parse or Close sent to the server, in order; a Sync (or Query,
  // FunctionCall) marks where the server's ReadyForQuery ends a group.
  struct Fate {
    enum class Kind { kParse, kClose, kSyncPoint } kind;
    std::string name;  // server-side statement name ("" for the unnamed statement)
    bool pass = true;  // false: the client did not ask for it
  };
  void ensure_prepared(const Statement& statement, ServerStatements& server, std::string& out);
  // The server-side statement of a Parse body after its name: query, NUL, parameter types.
  static Statement statement_of(std::string_view query, std::string_view types);

  std::unordered_map<std::string, Statement> statements_;  // by the client's name
  std::list<Fate> fates_;  // not a deque: that allocates 576 bytes up front, for every pooled client
  std::uint64_t injected_parses_ = 0;
};

}  // namespace pgstack::proxy
