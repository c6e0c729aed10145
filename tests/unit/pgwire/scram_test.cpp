#include "pgwire/scram.h"

#include <gtest/gtest.h>

#include "common/digest.h"

namespace pgstack::pgwire::scram {
namespace {

// RFC 7677, section 3: user "user", password "pencil".
constexpr std::string_view kSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

Verifier pencil() { return make_verifier("pencil", base64_decode(kSalt).value(), 4096); }

TEST(Scram, TheServerSideFollowsRfc7677sExample) {
  ServerExchange server(pencil(), std::string(kServerNonce));
  const auto first = server.on_client_first(kClientFirst);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, kServerFirst);
  const auto final_message = server.on_client_final(kClientFinal);
  ASSERT_TRUE(final_message.ok()) << final_message.error().message;
  EXPECT_EQ(*final_message, kServerFinal);
  EXPECT_EQ(server.client_key().size(), 32U);
}

TEST(Scram, AWrongPasswordIsRefusedAtTheProofAndYieldsNoKey) {
  ServerExchange server(make_verifier("not pencil", base64_decode(kSalt).value(), 4096), std::string(kServerNonce));
  ASSERT_TRUE(server.on_client_first(kClientFirst).ok());
  const auto final_message = server.on_client_final(kClientFinal);
  ASSERT_FALSE(final_message.ok());
  EXPECT_EQ(final_message.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(final_message.error().message.find("proof"), std::string::npos);
  EXPECT_TRUE(server.client_key().empty());
}

TEST(Scram, AnUnknownUserFailsLikeAWrongPassword) {
  ServerExchange server(unknown_user_verifier(), std::string(kServerNonce));
  ASSERT_TRUE(server.on_client_first(kClientFirst).ok());
  const auto final_message = server.on_client_final(kClientFinal);
  ASSERT_FALSE(final_message.ok());
  EXPECT_NE(final_message.error().message.find("proof"), std::string::npos);
}

TEST(Scram, TheClientKeyAClientProvedLogsInToAServerHoldingTheSameVerifier) {
  {
    // A client proves itself to the pooler (the RFC's client, who knows the password)...
    ServerExchange rfc(pencil(), std::string(kServerNonce));
    ASSERT_TRUE(rfc.on_client_first(kClientFirst).ok());
    ASSERT_TRUE(rfc.on_client_final(kClientFinal).ok());
    const Verifier rfc_verifier = pencil();
    // ...and the pooler logs in to Postgres with it.
    ClientExchange login(rfc.client_key(), rfc_verifier.server_key, "clientnonce");
    ServerExchange postgres(rfc_verifier, "servernonce");
    const auto server_first = postgres.on_client_first(login.client_first());
    ASSERT_TRUE(server_first.ok()) << server_first.error().message;
    const auto client_final = login.on_server_first(*server_first);
    ASSERT_TRUE(client_final.ok()) << client_final.error().message;
    const auto server_final = postgres.on_client_final(*client_final);
    ASSERT_TRUE(server_final.ok()) << server_final.error().message;
    EXPECT_EQ(postgres.client_key(), rfc.client_key());
    const auto verified = login.on_server_final(*server_final);
    ASSERT_TRUE(verified.ok()) << verified.error().message;
  }
}

TEST(Scram, AServerWithoutTheVerifierIsCaughtByItsSignature) {
  const Verifier verifier = pencil();
  ServerExchange rfc(verifier, std::string(kServerNonce));
  ASSERT_TRUE(rfc.on_client_first(kClientFirst).ok());
  ASSERT_TRUE(rfc.on_client_final(kClientFinal).ok());
  ClientExchange login(rfc.client_key(), verifier.server_key, "clientnonce");
  const auto client_final = login.on_server_first("r=clientnonceXYZ,s=" + base64_encode(verifier.salt) + ",i=4096");
  ASSERT_TRUE(client_final.ok());
  const auto verified = login.on_server_final("v=" + base64_encode(std::string(32, 'x')));
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().message.find("signature"), std::string::npos);
  EXPECT_FALSE(login.on_server_final("e=invalid-proof").ok());
}

TEST(Scram, AServerNonceThatDoesNotExtendTheClientsIsRefused) {
  ClientExchange login(std::string(32, 'k'), std::string(32, 's'), "clientnonce");
  EXPECT_FALSE(login.on_server_first("r=othernonce,s=c2FsdA==,i=4096").ok());
  EXPECT_FALSE(login.on_server_first("r=clientnonce,s=c2FsdA==,i=4096").ok());  // nothing of the server's
  EXPECT_FALSE(login.on_server_first("s=c2FsdA==,i=4096").ok());
}

TEST(Scram, MalformedClientMessagesGetErrorsThatSayWhat) {
  ServerExchange server(pencil(), "servernonce");
  EXPECT_NE(server.on_client_first("p=tls-server-end-point,,n=,r=abc").error().message.find("channel binding"),
            std::string::npos);
  EXPECT_FALSE(server.on_client_first("x,,n=,r=abc").ok());
  EXPECT_FALSE(server.on_client_first("n,,r=abc").ok());
  EXPECT_FALSE(server.on_client_first("n,,n=,r=").ok());
  EXPECT_FALSE(server.on_client_final("c=biws,r=abc,p=AAAA").ok());  // before the first message
  ASSERT_TRUE(server.on_client_first("n,,n=,r=abc").ok());
  EXPECT_NE(server.on_client_final("c=biws,r=abcservernonce").error().message.find("no proof"), std::string::npos);
  EXPECT_FALSE(server.on_client_final("c=biws,r=abcOTHER,p=" + base64_encode(std::string(32, 'p'))).ok());
  EXPECT_FALSE(server.on_client_final("c=cD10bHM=,r=abcservernonce,p=" + base64_encode(std::string(32, 'p'))).ok());
  EXPECT_FALSE(server.on_client_final("c=biws,r=abcservernonce,p=!!!!").ok());
}

TEST(Scram, VerifiersRoundTripAndBadOnesAreRefused) {
  const Verifier verifier = pencil();
  const std::string text = format_verifier(verifier);
  EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 0), 0U);
  const auto parsed = parse_verifier(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->stored_key, verifier.stored_key);
  EXPECT_EQ(parsed->server_key, verifier.server_key);
  EXPECT_EQ(parsed->salt, verifier.salt);
  EXPECT_FALSE(parse_verifier("md5c1e8a2d7d9a8e8b4d3f4b0a3e2d1c0b9").ok());
  EXPECT_FALSE(parse_verifier("SCRAM-SHA-256$0:c2FsdA==$AAAA:AAAA").ok());
  EXPECT_FALSE(parse_verifier("SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA").ok());  // keys too short
  EXPECT_FALSE(parse_verifier("SCRAM-SHA-256$4096:c2FsdA==").ok());
}

TEST(Scram, NoncesAreFreshBase64) {
  EXPECT_TRUE(base64_decode(random_nonce()).ok());
  EXPECT_EQ(random_nonce().size(), 24U);
  EXPECT_NE(random_nonce(), random_nonce());
}

}  // namespace
}  // namespace pgstack::pgwire::scram
