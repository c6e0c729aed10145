#include "proxy/statement_rewriter.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "pgwire/encoder.h"
#include "pgwire/raw_message.h"

namespace pgstack::proxy {
namespace {

// Reads a NUL-terminated string at `at`, moving past it; nullopt when there is no NUL.
std::optional<std::string_view> read_string(std::string_view body, std::size_t& at) {
  const std::size_t end = body.find('\0', at);
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view out = body.substr(at, end - at);
  at = end + 1;
  return out;
}

std::string message(char type, std::string_view payload) { return pgwire::encode_message(type, payload); }

// A message written straight into `out` (Bind is rewritten once per transaction: no temporaries).
std::size_t begin_message(std::string& out, char type) {
  const std::size_t start = out.size();
  out.push_back(type);
  out.append(4, '\0');
  return start;
}
void end_message(std::string& out, std::size_t start) {
  const auto length = static_cast<std::uint32_t>(out.size() - start - 1);
  for (int i = 0; i < 4; ++i) out[start + 1 + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
}

std::string cstring(std::string_view text) { return std::string(text) + '\0'; }

}  // namespace

void StatementRewriter::ensure_prepared(const Statement& statement, ServerStatements& server, std::string& out) {
  if (server.has(statement.server_name)) return;
  out += statement.parse;
  server.pending.insert(statement.server_name);
  fates_.push_back(Fate{Fate::Kind::kParse, statement.server_name, false});
  ++injected_parses_;
}

StatementRewriter::Statement StatementRewriter::statement_of(std::string_view query, std::string_view types) {
  std::string server_name = "pgstack_" + sha256_hex(std::string(query) + '\0' + std::string(types)).substr(0, 32);
  std::string parse = message('P', cstring(server_name) + cstring(query) + std::string(types));
  return Statement{std::move(server_name), std::move(parse)};
}

bool StatementRewriter::answer_prepare_locally(std::string_view frame, const std::set<std::string>& known,
                                               std::string& reply) {
  std::vector<std::pair<std::string, Statement>> prepared;
  std::size_t at = 0;
  bool synced = false;
  while (at < frame.size() && !synced) {
    auto view = pgwire::message_at(frame.substr(at), std::numeric_limits<std::uint32_t>::max());
    if (!view.ok() || !*view) return false;
    const auto& whole = **view;
    at += whole.wire.size();
    if (whole.type == 'S') {
      synced = true;
      continue;
    }
    if (whole.type != 'P') return false;
    std::size_t field = 0;
    const auto name = read_string(whole.body, field);
    const auto query = read_string(whole.body, field);
    // An unnamed statement, or a name the client has (Postgres would refuse it), goes to the server.
    if (!name || !query || name->empty() || statements_.contains(std::string(*name))) return false;
    Statement statement = statement_of(*query, whole.body.substr(field));
    if (!known.contains(statement.server_name)) return false;
    const auto same_name = [&](const auto& earlier) { return earlier.first == *name; };
    if (std::any_of(prepared.begin(), prepared.end(), same_name)) return false;
    prepared.emplace_back(std::string(*name), std::move(statement));
  }
  if (!synced || at != frame.size() || prepared.empty()) return false;
  for (auto& [name, statement] : prepared) {
    statements_.insert_or_assign(name, std::move(statement));
    reply += message('1', "");
  }
  reply += pgwire::encode_ready_for_query(pgwire::TransactionStatus::kIdle);
  return true;
}

void StatementRewriter::on_client_message(char type, std::string_view body, std::string_view wire,
                                          ServerStatements& server, std::string& out) {
  std::size_t at = 0;
  switch (type) {
    case 'P': {  // Parse: name, query, Int16 count, Int32 types
      const auto name = read_string(body, at);
      const auto query = read_string(body, at);
      if (!name || !query) break;
      if (name->empty()) {
        fates_.push_back(Fate{Fate::Kind::kParse, "", true});
        break;
      }
      Statement statement = statement_of(*query, body.substr(at));
      const std::string& server_name = statement.server_name;
      if (server.has(server_name)) {
        // The client asked for a parse and gets its answer: the server's copy is closed and parsed again.
        out += message('C', "S" + cstring(server_name));
        fates_.push_back(Fate{Fate::Kind::kClose, server_name, false});
      }
      out += statement.parse;
      server.pending.insert(server_name);
      fates_.push_back(Fate{Fate::Kind::kParse, server_name, true});
      statements_.insert_or_assign(std::string(*name), std::move(statement));
      return;
    }
    case 'B': {  // Bind: portal, statement, the rest unchanged
      const auto portal = read_string(body, at);
      const auto name = read_string(body, at);
      if (!portal || !name || name->empty()) break;
      const auto found = statements_.find(std::string(*name));
      if (found == statements_.end()) break;  // Postgres answers "does not exist", naming the client's statement
      ensure_prepared(found->second, server, out);
      const std::size_t start = begin_message(out, 'B');
      out.append(*portal).push_back('\0');
      out.append(found->second.server_name).push_back('\0');
      out.append(body.substr(at));
      end_message(out, start);
      return;
    }
    case 'D': {  // Describe: 'S' or 'P', name
      if (body.empty() || body[0] != 'S') break;
      at = 1;
      const auto name = read_string(body, at);
      if (!name || name->empty()) break;
      const auto found = statements_.find(std::string(*name));
      if (found == statements_.end()) break;
      ensure_prepared(found->second, server, out);
      out += message('D', "S" + cstring(found->second.server_name));
      return;
    }
    case 'C': {  // Close: 'S' or 'P', name
      if (body.empty() || body[0] != 'S') {
        fates_.push_back(Fate{Fate::Kind::kClose, "", true});
        break;
      }
      at = 1;
      const auto name = read_string(body, at);
      const auto found = name ? statements_.find(std::string(*name)) : statements_.end();
      if (found == statements_.end()) {
        fates_.push_back(Fate{Fate::Kind::kClose, "", true});
        break;
      }
      const std::string server_name = found->second.server_name;
      statements_.erase(found);
      out += message('C', "S" + cstring(server_name));
      fates_.push_back(Fate{Fate::Kind::kClose, server_name, true});
      return;
    }
    case 'S':  // Sync
    case 'Q':  // Query
    case 'F':  // FunctionCall
      fates_.push_back(Fate{Fate::Kind::kSyncPoint, "", true});
      break;
    default: break;
  }
  out.append(wire);
}

bool StatementRewriter::on_server_message(char type, std::string_view body, ServerStatements& server) {
  auto take = [&](Fate::Kind kind) -> std::optional<Fate> {
    // The first outstanding fate of this kind in the current group; answers come in the order asked.
    for (auto it = fates_.begin(); it != fates_.end() && it->kind != Fate::Kind::kSyncPoint; ++it) {
      if (it->kind != kind) continue;
      Fate fate = *it;
      fates_.erase(it);
      return fate;
    }
    return std::nullopt;
  };
  switch (type) {
    case '1': {  // ParseComplete
      const auto fate = take(Fate::Kind::kParse);
      if (!fate) return true;
      if (!fate->name.empty()) {
        server.pending.erase(fate->name);
        server.prepared.insert(fate->name);
      }
      return fate->pass;
    }
    case '3': {  // CloseComplete
      const auto fate = take(Fate::Kind::kClose);
      if (!fate) return true;
      if (!fate->name.empty()) server.prepared.erase(fate->name);
      return fate->pass;
    }
    case 'C': {  // CommandComplete: SQL that drops every prepared statement of the session
      const std::string_view tag = body.substr(0, body.find('\0'));
      if (tag == "DISCARD ALL" || tag == "DEALLOCATE ALL") server.prepared.clear();
      return true;
    }
    case 'Z': {
      // After an error the server skipped the rest of the group: those Parses never happened.
      while (!fates_.empty()) {
        const Fate fate = fates_.front();
        fates_.pop_front();
        if (fate.kind == Fate::Kind::kSyncPoint) break;
        if (fate.kind == Fate::Kind::kParse && !fate.name.empty()) server.pending.erase(fate.name);
      }
      return true;
    }
    default: return true;
  }
}

}  // namespace pgstack::proxy
