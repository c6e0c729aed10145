#include "proxy/statement_rewriter.h"

#include <set>

#include <gtest/gtest.h>

#include "pgwire/encoder.h"
#include "pgwire/raw_message.h"

namespace pgstack::proxy {
namespace {

// Feeds whole client messages and returns the messages that go to the server, as "type:body" strings.
std::vector<std::string> to_server(StatementRewriter& rewriter, ServerStatements& server,
                                   const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& wire : messages) {
    const auto view = pgwire::message_at(wire).value();
    rewriter.on_client_message(view->type, view->body, view->wire, server, out);
  }
  std::vector<std::string> seen;
  std::string_view rest = out;
  while (!rest.empty()) {
    const auto view = pgwire::message_at(rest).value();
    std::string body(view->body);
    for (char& c : body) c = c == '\0' ? '|' : c;
    seen.push_back(std::string(1, view->type) + ":" + body);
    rest.remove_prefix(view->wire.size());
  }
  return seen;
}

bool passes(StatementRewriter& rewriter, ServerStatements& server, const std::string& wire) {
  const auto view = pgwire::message_at(wire).value();
  return rewriter.on_server_message(view->type, view->body, server);
}

const std::string kParseComplete = pgwire::encode_message('1', "");
const std::string kBindComplete = pgwire::encode_message('2', "");
const std::string kCloseComplete = pgwire::encode_message('3', "");
const std::string kReady = pgwire::encode_ready_for_query(pgwire::TransactionStatus::kIdle);

TEST(StatementRewriter, ANamedStatementIsRenamedAndPreparedAgainOnAServerThatLacksIt) {
  StatementRewriter client;
  ServerStatements first;
  const auto sent = to_server(client, first,
                              {pgwire::encode_parse("s1", "SELECT $1::int"), pgwire::encode_bind("", "s1", {"7"}),
                               pgwire::encode_execute(""), pgwire::encode_sync()});
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_EQ(sent[0].substr(0, 10), "P:pgstack_");
  const std::string server_name = sent[0].substr(2, sent[0].find('|') - 2);
  EXPECT_EQ(server_name.size(), 8U + 32U);
  EXPECT_NE(sent[1].find("|" + server_name + "|"), std::string::npos) << sent[1];
  EXPECT_TRUE(passes(client, first, kParseComplete));  // the client asked for this Parse
  EXPECT_TRUE(passes(client, first, kBindComplete));
  EXPECT_TRUE(passes(client, first, kReady));
  EXPECT_TRUE(first.prepared.contains(server_name));
  EXPECT_FALSE(client.expecting_answers());

  // The next transaction lands on another server connection: the Parse goes first, its answer is dropped.
  ServerStatements second;
  const auto again = to_server(
      client, second, {pgwire::encode_bind("", "s1", {"8"}), pgwire::encode_execute(""), pgwire::encode_sync()});
  ASSERT_EQ(again.size(), 4U);
  EXPECT_EQ(again[0].substr(0, 2 + server_name.size()), "P:" + server_name);
  EXPECT_FALSE(passes(client, second, kParseComplete));
  EXPECT_TRUE(passes(client, second, kBindComplete));
  EXPECT_TRUE(passes(client, second, kReady));
  EXPECT_TRUE(second.prepared.contains(server_name));
  EXPECT_EQ(client.injected_parses(), 1U);

  // Back on the first: nothing more to prepare.
  EXPECT_EQ(to_server(client, first, {pgwire::encode_bind("", "s1", {"9"}), pgwire::encode_sync()}).size(), 2U);
}

TEST(StatementRewriter, TwoClientsShareTheServersCopyOfTheSameStatement) {
  StatementRewriter a;
  StatementRewriter b;
  ServerStatements server;
  const auto from_a = to_server(a, server, {pgwire::encode_parse("mine", "SELECT 1"), pgwire::encode_sync()});
  EXPECT_TRUE(passes(a, server, kParseComplete));
  EXPECT_TRUE(passes(a, server, kReady));
  // b parses the same text under another name: the server's copy is closed and parsed again, and b sees
  // only its ParseComplete.
  const auto from_b = to_server(b, server, {pgwire::encode_parse("theirs", "SELECT 1"), pgwire::encode_sync()});
  ASSERT_EQ(from_b.size(), 3U);
  EXPECT_EQ(from_b[0].substr(0, 2), "C:");
  EXPECT_EQ(from_b[1].substr(0, 10), "P:pgstack_");
  EXPECT_EQ(from_a[0].substr(0, from_a[0].find('|')), from_b[1].substr(0, from_b[1].find('|')));
  EXPECT_FALSE(passes(b, server, kCloseComplete));
  EXPECT_TRUE(passes(b, server, kParseComplete));
  EXPECT_TRUE(passes(b, server, kReady));
  EXPECT_EQ(server.prepared.size(), 1U);
}

TEST(StatementRewriter, AnErrorBeforeTheSyncLeavesNothingPendingAndTheNextGroupIntact) {
  StatementRewriter client;
  ServerStatements first;
  to_server(client, first, {pgwire::encode_parse("s1", "SELECT 1"), pgwire::encode_sync()});
  EXPECT_TRUE(passes(client, first, kParseComplete));
  EXPECT_TRUE(passes(client, first, kReady));
  ServerStatements other;
  // Group 1: the injected Parse fails (say the table went away); group 2: a plain Parse of the unnamed one.
  to_server(client, other,
            {pgwire::encode_bind("", "s1", {}), pgwire::encode_sync(), pgwire::encode_parse("", "SELECT 2"),
             pgwire::encode_sync()});
  EXPECT_TRUE(passes(client, other, pgwire::encode_error_response("ERROR", "42P01", "gone")));
  EXPECT_TRUE(passes(client, other, kReady));
  EXPECT_TRUE(other.pending.empty());
  EXPECT_FALSE(other.prepared.contains(*first.prepared.begin()));
  EXPECT_TRUE(passes(client, other, kParseComplete));  // the unnamed Parse's answer reaches the client
  EXPECT_TRUE(passes(client, other, kReady));
  EXPECT_FALSE(client.expecting_answers());
}

TEST(StatementRewriter, CloseForgetsTheClientsNameAndUnknownNamesPassUnchanged) {
  StatementRewriter client;
  ServerStatements server;
  to_server(client, server, {pgwire::encode_parse("s1", "SELECT 1"), pgwire::encode_sync()});
  passes(client, server, kParseComplete);
  passes(client, server, kReady);
  const auto closed =
      to_server(client, server, {pgwire::encode_close(pgwire::TargetKind::kStatement, "s1"), pgwire::encode_sync()});
  EXPECT_EQ(closed[0].substr(0, 10), "C:Spgstack");
  EXPECT_TRUE(passes(client, server, kCloseComplete));
  passes(client, server, kReady);
  EXPECT_TRUE(server.prepared.empty());
  EXPECT_EQ(client.statements(), 0U);
  // Postgres itself answers for a name nobody prepared ("prepared statement \"s1\" does not exist").
  const auto unknown = to_server(client, server, {pgwire::encode_bind("", "s1", {}), pgwire::encode_sync()});
  EXPECT_EQ(unknown[0], "B:|s1|" + unknown[0].substr(6));
  // The client's own DISCARD ALL drops what the server had.
  server.prepared.insert("pgstack_x");
  EXPECT_TRUE(passes(client, server, pgwire::encode_message('C', std::string("DISCARD ALL") + '\0')));
  EXPECT_TRUE(server.prepared.empty());
}

}  // namespace
TEST(StatementRewriter, APrepareOfKnownStatementsIsAnsweredWithoutAServer) {
  // A first client prepares on a server connection: the pool learns the statement's server name.
  StatementRewriter first_client;
  ServerStatements server;
  to_server(first_client, server, {pgwire::encode_parse("p0", "BEGIN"), pgwire::encode_sync()});
  EXPECT_TRUE(passes(first_client, server, kParseComplete));
  EXPECT_TRUE(passes(first_client, server, kReady));
  const std::set<std::string> known = server.prepared;
  ASSERT_EQ(known.size(), 1U);

  // Another client's PQprepare of the same text (any name) is answered at once, as Postgres would.
  StatementRewriter client;
  const std::string prepare = pgwire::encode_parse("mine", "BEGIN") + pgwire::encode_sync();
  std::string reply;
  ASSERT_TRUE(client.answer_prepare_locally(prepare, known, reply));
  EXPECT_EQ(reply, kParseComplete + kReady);
  EXPECT_EQ(client.statements(), 1U);
  // Its Bind on a connection that lacks the statement brings the Parse first.
  ServerStatements other;
  const auto sent = to_server(client, other, {pgwire::encode_bind("", "mine", {}), pgwire::encode_sync()});
  ASSERT_EQ(sent.size(), 3U);
  EXPECT_EQ(sent[0].substr(0, 2 + 40), "P:" + *known.begin());
  EXPECT_FALSE(passes(client, other, kParseComplete));  // injected: the client does not see it

  // Not answered here: a statement not parsed before, the name again (Postgres refuses it), an unnamed
  // statement, a Parse without its Sync yet, and anything besides Parses.
  for (const std::string& frame :
       {pgwire::encode_parse("new", "SELECT 1") + pgwire::encode_sync(),
        pgwire::encode_parse("mine", "BEGIN") + pgwire::encode_sync(),
        pgwire::encode_parse("", "BEGIN") + pgwire::encode_sync(), pgwire::encode_parse("again", "BEGIN"),
        pgwire::encode_parse("twice", "BEGIN") + pgwire::encode_parse("twice", "BEGIN") + pgwire::encode_sync(),
        pgwire::encode_parse("with_bind", "BEGIN") + pgwire::encode_bind("", "with_bind", {}) + pgwire::encode_sync(),
        pgwire::encode_parse("after", "BEGIN") + pgwire::encode_sync() + pgwire::encode_sync()}) {
    std::string none;
    EXPECT_FALSE(client.answer_prepare_locally(frame, known, none));
    EXPECT_EQ(none, "");
  }
  EXPECT_EQ(client.statements(), 1U);
}

}  // namespace pgstack::proxy
