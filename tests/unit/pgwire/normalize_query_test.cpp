#include "pgwire/normalize_query.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace pgstack::pgwire {
namespace {

TEST(NormalizeQuery, ReplacesLiteralsAndKeepsStructure) {
  struct Case {
    std::string_view sql;
    std::string_view normalized;
  };
  const Case cases[] = {
      {"SELECT * FROM users WHERE id = 42", "select * from users where id = ?"},
      {"select 'it''s', E'a\\'b', e'\\\\', B'0101', X'ff', N'nat', U&'d\\0061t'", "select ?, ?, ?, ?, ?, ?, ?"},
      {"select $$a 'quoted' $$ , $tag$ x $$ y $tag$", "select ?, ?"},
      {"select $1, $2::int", "select $1, $2::int"},
      {"SELECT  a,\n\tb -- comment\nFROM t /* block /* nested */ still */ WHERE x=1", "select a, b from t where x=?"},
      {"select a/**/from t", "select a from t"},
      {"select 1.5e10, .5, 1., 0x1F, 0b101, 1_000, 2E-3", "select ?, ?, ?, ?, ?, ?, ?"},
      {"select -1, x - 1, x-1, (-2), y = -3.5, +4", "select -?, x - ?, x-?, (?), y = ?, ?"},
      {"select true, false, null, TRUE", "select true, false, null, true"},
      {"SELECT \"MixedCase\", \"a\"\"b\", U&\"d\\0061t\" FROM \"T\"",
       "select \"MixedCase\", \"a\"\"b\", U&\"d\\0061t\" from \"T\""},
      {"select t1.col_2, a$b, $x, data ? 'key'", "select t1.col_2, a$b, $x, data ? ?"},
      {"select ( 1 , 2 ) ;", "select (?, ?);"},
      {"SELECT 1;SELECT 2;", "select ?;select ?;"},
      {"select x::int[], a[1], f(1, 'a')", "select x::int[], a[?], f(?, ?)"},
      {"insert into t values (1, 'a'), (2, 'b')", "insert into t values (?, ?), (?, ?)"},
      {"select 'caf\xc3\xa9', \xc3\xa9t\xc3\xa9", "select ?, \xc3\xa9t\xc3\xa9"},
      {"", ""},
      {"   \n\t ", ""},
      {"-- only a comment", ""},
      {"select 'unterminated", "select ?"},
      {"select 1 /* unterminated", "select ?"},
      {"select $a$ unterminated", "select ?"},
      {"select e'ends with backslash\\", "select ?"},
  };
  for (const Case& c : cases) EXPECT_EQ(normalize_query(c.sql), c.normalized) << c.sql;
}

TEST(NormalizeQuery, CollapsesInListsAndArraysOfConstants) {
  struct Case {
    std::string_view sql;
    std::string_view normalized;
  };
  const Case cases[] = {
      {"select * from t where id in (1, 2, 3)", "select * from t where id in (?)"},
      {"select * from t where id IN (1)", "select * from t where id in (?)"},
      {"select * from t where id in ($1,$2,$3) and k NOT IN ('a','b')",
       "select * from t where id in (?) and k not in (?)"},
      {"select * from t where id in (select id from u)", "select * from t where id in (select id from u)"},
      {"select * from t where id in (1, x)", "select * from t where id in (?, x)"},
      {"select * from t where (a, b) in ((1, 2), (3, 4))", "select * from t where (a, b) in ((?, ?), (?, ?))"},
      {"select * from t where id in ()", "select * from t where id in ()"},
      {"select array[1,2,3], ARRAY['a'], array[[1,2],[3,4]]", "select array[?], array[?], array[[?, ?], [?, ?]]"},
      {"select * from t where id = any(array[1, 2, -3])", "select * from t where id = any(array[?])"},
      {"select * from t where id in (1, 2) and x = (1)", "select * from t where id in (?) and x = (?)"},
  };
  for (const Case& c : cases) EXPECT_EQ(normalize_query(c.sql), c.normalized) << c.sql;
  EXPECT_EQ(normalize_query("select * from t where id in (1,2,3)"), normalize_query("select * from t where id in (7)"));
}

TEST(NormalizeQuery, SameFingerprintForDifferentConstants) {
  EXPECT_EQ(normalize_query("SELECT abalance FROM pgbench_accounts WHERE aid = 123"),
            normalize_query("select abalance from pgbench_accounts where aid = 98765"));
  EXPECT_EQ(normalize_query("UPDATE t SET v = 'x' WHERE id = 1 -- retry"),
            normalize_query("update t set v = 'yyy' where id = 2"));
}

TEST(NormalizeQuery, CutsToMaxLengthOnACharacterBoundary) {
  EXPECT_EQ(normalize_query("select 1", 3), "sel");
  EXPECT_EQ(normalize_query("select \xc3\xa9", 8), "select ");
  EXPECT_EQ(normalize_query("select \xc3\xa9", 9), "select \xc3\xa9");
  EXPECT_EQ(normalize_query("select 1", 0), "");
}

TEST(NormalizeQuery, DeepNestingAndRandomBytesAreSafe) {
  std::string deep = "select ";
  for (int i = 0; i < 5000; ++i) deep += "(";
  deep += "1";
  for (int i = 0; i < 5000; ++i) deep += ")";
  EXPECT_EQ(normalize_query(deep).size(), deep.size());

  std::string in_list = "select * from t where id in (";
  for (int i = 0; i < 100000; ++i) in_list += std::to_string(i) + ", ";
  in_list += "0)";
  EXPECT_EQ(normalize_query(in_list), "select * from t where id in (?)");

  std::mt19937 random(3);
  const std::string alphabet = "'\"$-/*()[],;:.eEbBxXuU&0123456789 \n\\abc?+";
  for (int round = 0; round < 5000; ++round) {
    std::string sql(random() % 64, ' ');
    for (auto& c : sql) c = round % 2 ? alphabet[random() % alphabet.size()] : static_cast<char>(random());
    const std::string normalized = normalize_query(sql, 40);
    ASSERT_LE(normalized.size(), 40u);
  }
}

}  // namespace
}  // namespace pgstack::pgwire
