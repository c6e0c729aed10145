#include "model/codec.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

TEST(Codec, ResolvesPlainScalarsLikeYaml12Core) {
  EXPECT_EQ(resolve_plain_scalar("15"), Json(15));
  EXPECT_EQ(resolve_plain_scalar("-3"), Json(-3));
  EXPECT_EQ(resolve_plain_scalar("0x1F"), Json(31));
  EXPECT_EQ(resolve_plain_scalar("0o17"), Json(15));
  EXPECT_EQ(resolve_plain_scalar("1.5"), Json(1.5));
  EXPECT_EQ(resolve_plain_scalar("true"), Json(true));
  EXPECT_EQ(resolve_plain_scalar("False"), Json(false));
  EXPECT_EQ(resolve_plain_scalar("~"), Json(nullptr));
  EXPECT_EQ(resolve_plain_scalar("null"), Json(nullptr));
  // YAML 1.1 booleans are strings in 1.2: "on" stays "on" (a valid Postgres boolean).
  EXPECT_EQ(resolve_plain_scalar("on"), Json("on"));
  EXPECT_EQ(resolve_plain_scalar("5Gi"), Json("5Gi"));
  EXPECT_EQ(resolve_plain_scalar("99999999999999999999999"), Json("99999999999999999999999"));
}

TEST(Codec, QuotedScalarsStayStrings) {
  const auto loaded = load_documents("a: '15'\nb: \"true\"\nc: 15\n", "x.yaml");
  ASSERT_EQ(loaded.documents.size(), 1u);
  EXPECT_EQ(loaded.documents[0].body["a"], Json("15"));
  EXPECT_EQ(loaded.documents[0].body["b"], Json("true"));
  EXPECT_EQ(loaded.documents[0].body["c"], Json(15));
}

TEST(Codec, ManyDocumentsListsAndJsonArrays) {
  EXPECT_EQ(load_documents("a: 1\n---\nb: 2\n---\n", "x.yaml").documents.size(), 2u);
  EXPECT_EQ(load_documents("[{\"a\": 1}, {\"b\": 2}, {\"c\": 3}]", "x.json").documents.size(), 3u);
  EXPECT_EQ(load_documents("kind: List\nitems: [{a: 1}, {b: 2}]\n", "x.yaml").documents.size(), 2u);
  const auto loaded = load_documents("a: 1\n---\nb: 2\n", "x.yaml");
  EXPECT_EQ(loaded.documents[1].index, 1);
  EXPECT_EQ(loaded.documents[1].label(), "document 2");
}

TEST(Codec, SyntaxErrorsSayWhere) {
  const auto loaded = load_documents("a: [1, 2\nb: c\n", "broken.yaml");
  ASSERT_TRUE(loaded.diagnostics.has_errors());
  const std::string message = loaded.diagnostics.items()[0].to_string();
  EXPECT_EQ(message.rfind("broken.yaml: line ", 0), 0u) << message;
  EXPECT_NE(message.find("invalid YAML or JSON"), std::string::npos) << message;
}

TEST(Codec, DuplicateKeysAndNonMappingDocumentsAreErrors) {
  auto loaded = load_documents("a: 1\na: 2\n", "dup.yaml");
  ASSERT_TRUE(loaded.diagnostics.has_errors());
  EXPECT_NE(loaded.diagnostics.items()[0].message.find("duplicate key \"a\""), std::string::npos);
  loaded = load_documents("just a string\n", "s.yaml");
  ASSERT_TRUE(loaded.diagnostics.has_errors());
  EXPECT_NE(loaded.diagnostics.items()[0].to_string().find("s.yaml: document 1: expected a mapping"), std::string::npos)
      << loaded.diagnostics.items()[0].to_string();
}

TEST(Codec, InvalidUtf8IsRefused) {
  const auto loaded = load_documents("a: ok\nb: \"\xff\xfe\"\n", "bytes.yaml");
  ASSERT_TRUE(loaded.diagnostics.has_errors());
  EXPECT_NE(loaded.diagnostics.items()[0].message.find("invalid YAML or JSON: invalid leading UTF-8 octet"),
            std::string::npos)
      << loaded.diagnostics.items()[0].message;
  EXPECT_FALSE(load_documents("\xc3\x28: x\n", "key.yaml").diagnostics.items().empty());
  EXPECT_FALSE(load_documents("name: \"caf\xc3\xa9\"\n", "ok.yaml").diagnostics.has_errors());
}

// yaml-cpp 0.7 never returns on these (found by the fuzzer); libyaml refuses them.
TEST(Codec, InputsThatHangYamlCppAreRefused) {
  for (const char* text : {",[kind: x", ", x", "---\n,", "# c\n,", "- a\n,", " ,", "\t,", "a: b\n---\n, x",
                           "{\"a\":\"b\",\"m\":u\"n\":\"j\"},\"s\":{}"}) {
    const auto loaded = load_documents(text, "c.yaml");
    ASSERT_TRUE(loaded.diagnostics.has_errors()) << text;
    EXPECT_NE(loaded.diagnostics.items()[0].message.find("invalid YAML or JSON"), std::string::npos) << text;
  }
  // A ',' in a block scalar, a flow collection or a quoted string is fine.
  for (const char* text : {"script: |\n  , first\n  second\nb: 1\n", "a: [x\n  , y]\n", "a: \"x\n , y\"\n",
                           "a: 'it''s\n , fine'\n", "a: {b: 1\n , c: 2}\n", "a: x, y\n", "b: >-\n  ,\n"}) {
    const auto loaded = load_documents(text, "ok.yaml");
    EXPECT_FALSE(loaded.diagnostics.has_errors()) << text << ": " << loaded.diagnostics.items()[0].to_string();
  }
}

TEST(Codec, DeepNestingIsBoundedNotACrash) {
  const std::string deep = std::string(500, '[') + std::string(500, ']');
  const auto loaded = load_documents(deep, "deep.yaml");
  EXPECT_TRUE(loaded.diagnostics.has_errors());
}

// Parsing stops at the first level past the limit: reading on made a 200 KB body take tens of seconds.
TEST(Codec, NestingPastTheLimitStopsTheParseWithOneError) {
  for (const char open : {'[', '{'}) {
    const std::string deep = "kind: x\nspec: " + std::string(50000, open);
    const auto loaded = load_documents(deep, "deep.yaml");
    ASSERT_EQ(loaded.diagnostics.items().size(), 1u) << open;
    EXPECT_EQ(loaded.diagnostics.items()[0].to_string(),
              "deep.yaml: line 2, column 70: nested deeper than 64 levels, the limit for a manifest");
    EXPECT_TRUE(loaded.documents.empty());
  }
  std::string block = "a:\n";
  for (int level = 1; level < 100; ++level) block += std::string(level, ' ') + "b:\n";
  const auto loaded = load_documents(block, "block.yaml");
  ASSERT_EQ(loaded.diagnostics.items().size(), 1u);
  EXPECT_EQ(loaded.diagnostics.items()[0].message.rfind("line 65, column 65: nested deeper than 64 levels", 0), 0u)
      << loaded.diagnostics.items()[0].message;
  const std::string at_limit = "a: " + std::string(63, '[') + std::string(63, ']');
  EXPECT_FALSE(load_documents(at_limit, "ok.yaml").diagnostics.has_errors());
}

TEST(Codec, ARefusedDocumentHasOnlyItsOwnErrorAndKeepsItsNumber) {
  const auto loaded = load_documents("kind: A\nkind: B\n---\nkind: C\nmetadata: {name: c}\n", "two.yaml");
  ASSERT_EQ(loaded.diagnostics.items().size(), 1u);
  EXPECT_EQ(loaded.diagnostics.items()[0].to_string(), "two.yaml: document 1: line 2: duplicate key \"kind\"");
  ASSERT_EQ(loaded.documents.size(), 1u);
  EXPECT_EQ(loaded.documents[0].index, 1);
  EXPECT_EQ(loaded.documents[0].kind(), "C");
}

TEST(Codec, InvalidUtf8IsReportedWhereTheByteIs) {
  const auto loaded = load_documents("a: ok\nb: caf\xc3\xa9\nc: \"\xff\xfe\"\n", "bytes.yaml");
  ASSERT_EQ(loaded.diagnostics.items().size(), 1u);
  EXPECT_EQ(loaded.diagnostics.items()[0].message.rfind("line 3, column 5: invalid YAML or JSON", 0), 0u)
      << loaded.diagnostics.items()[0].message;
  // The character count of a line with multi-byte characters before the bad byte.
  const auto later = load_documents("a: caf\xc3\xa9 \xff\n", "bytes.yaml");
  ASSERT_EQ(later.diagnostics.items().size(), 1u);
  EXPECT_EQ(later.diagnostics.items()[0].message.rfind("line 1, column 9: invalid YAML or JSON", 0), 0u)
      << later.diagnostics.items()[0].message;
}

TEST(Codec, YamlOutputQuotesStringsThatWouldChangeType) {
  Json value = {{"version", "15"}, {"flag", "true"}, {"empty", ""}, {"count", 3}, {"name", "demo"}};
  const std::string yaml = json_to_yaml(value);
  EXPECT_EQ(yaml, "version: '15'\nflag: 'true'\nempty: ''\ncount: 3\nname: demo\n");
  const auto back = load_documents(yaml, "y.yaml");
  EXPECT_EQ(back.documents[0].body, value);
}

}  // namespace
}  // namespace pgstack::model
