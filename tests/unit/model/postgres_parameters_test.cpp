// The expectations follow Postgres 15's guc.c; tests/unit/host checks a sample of them against the
// real server.
#include "model/postgres_parameters.h"

#include <cfloat>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

using namespace std::string_literals;

ParameterSpec integer_spec(std::string name, std::string unit, double min, double max) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.type = ParameterType::kInteger;
  spec.context = "postmaster";
  spec.unit = std::move(unit);
  spec.min_value = min;
  spec.max_value = max;
  return spec;
}

ParameterSpec real_spec(std::string name, std::string unit, double min, double max) {
  ParameterSpec spec = integer_spec(std::move(name), std::move(unit), min, max);
  spec.type = ParameterType::kReal;
  return spec;
}

ParameterSpec enum_spec(std::string name, std::vector<std::string> values) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.type = ParameterType::kEnum;
  spec.context = "user";
  spec.enum_values = std::move(values);
  return spec;
}

ParameterSpec bool_spec() {
  ParameterSpec spec;
  spec.name = "enable_seqscan";
  spec.type = ParameterType::kBool;
  spec.context = "user";
  return spec;
}

// As pg_settings shows them in Postgres 15.
const ParameterSpec kSharedBuffers = integer_spec("shared_buffers", "8kB", 16, 1073741823);
const ParameterSpec kWorkMem = integer_spec("work_mem", "kB", 64, 2147483647);
const ParameterSpec kMinWalSize = integer_spec("min_wal_size", "MB", 2, 2147483647);
const ParameterSpec kLogParameterMaxLength = integer_spec("log_parameter_max_length", "B", -1, 1073741823);
const ParameterSpec kMaxConnections = integer_spec("max_connections", "", 1, 262143);
const ParameterSpec kStatementTimeout = integer_spec("statement_timeout", "ms", 0, 2147483647);
const ParameterSpec kCheckpointTimeout = integer_spec("checkpoint_timeout", "s", 30, 86400);
const ParameterSpec kLogRotationAge = integer_spec("log_rotation_age", "min", 0, 35791394);
const ParameterSpec kExtraFloatDigits = integer_spec("extra_float_digits", "", -15, 3);
const ParameterSpec kRandomPageCost = real_spec("random_page_cost", "", 0, DBL_MAX);
const ParameterSpec kVacuumCostDelay = real_spec("vacuum_cost_delay", "ms", 0, 100);
const ParameterSpec kCheckpointCompletionTarget = real_spec("checkpoint_completion_target", "", 0, 1);
const ParameterSpec kWalLevel = enum_spec("wal_level", {"minimal", "replica", "logical"});
const ParameterSpec kSynchronousCommit =
    enum_spec("synchronous_commit", {"local", "remote_write", "remote_apply", "on", "off"});
const ParameterSpec kClientMinMessages = enum_spec(
    "client_min_messages", {"debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error"});
const ParameterSpec kLogMinMessages = enum_spec(
    "log_min_messages",
    {"debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log", "fatal", "panic"});
const ParameterSpec kSslMaxProtocolVersion =
    enum_spec("ssl_max_protocol_version", {"", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"});
const ParameterSpec kEnableSeqscan = bool_spec();

struct NumberCase {
  const ParameterSpec* spec;
  std::string value;
  std::optional<double> expected;  // in the parameter's unit; nullopt when Postgres rejects it
};

void check_number_cases(const std::vector<NumberCase>& cases) {
  for (const auto& test : cases) {
    SCOPED_TRACE(test.spec->name + " = \"" + test.value + "\"");
    const auto error = check_parameter_value(*test.spec, test.value);
    const auto converted = parameter_value_in_base_unit(*test.spec, test.value);
    if (test.expected) {
      EXPECT_FALSE(error) << *error;
      ASSERT_TRUE(converted.ok()) << converted.error().message;
      EXPECT_DOUBLE_EQ(converted.value(), *test.expected);
    } else {
      EXPECT_TRUE(error);
      ASSERT_FALSE(converted.ok());
      if (error) {
        EXPECT_EQ(converted.error().message, *error);
      }
    }
  }
}

TEST(PostgresParameters, MemoryIntegers) {
  const std::optional<double> rejected;
  check_number_cases({
      {&kSharedBuffers, "128MB", 16384},
      {&kSharedBuffers, "128", 128},
      {&kSharedBuffers, "16", 16},
      {&kSharedBuffers, "15", rejected},
      {&kSharedBuffers, "1073741823", 1073741823},
      {&kSharedBuffers, "1073741824", rejected},
      {&kSharedBuffers, "1GB", 131072},
      {&kSharedBuffers, "7TB", 939524096},
      {&kSharedBuffers, "8TB", rejected},  // 2^30 pages, one above the maximum
      {&kSharedBuffers, "131072kB", 16384},
      {&kSharedBuffers, "134217728B", 16384},
      {&kSharedBuffers, " 128MB ", 16384},
      {&kSharedBuffers, "\t128 MB\n", 16384},
      {&kSharedBuffers, "+128MB", 16384},
      {&kSharedBuffers, "0x10", 16},
      {&kSharedBuffers, "0X20", 32},
      {&kSharedBuffers, "020", 16},        // octal
      {&kSharedBuffers, "010", rejected},  // octal 8
      {&kSharedBuffers, "1e3", 1000},
      {&kSharedBuffers, "1E3", 1000},
      {&kSharedBuffers, "16.5", 16},  // rint rounds half to even
      {&kSharedBuffers, "17.5", 18},
      {&kSharedBuffers, "1.5GB", 196608},
      {&kSharedBuffers, "0.1GB", 13056},  // rounded to whole MB first: 102MB
      {&kSharedBuffers, "1.00001MB", 128},
      {&kSharedBuffers, "1.5kB", rejected},  // 1536 bytes is 0 pages
      {&kSharedBuffers, "1 B", rejected},
      {&kSharedBuffers, "4XB", rejected},
      {&kSharedBuffers, "128mb", rejected},  // units are case-sensitive
      {&kSharedBuffers, "128Mb", rejected},
      {&kSharedBuffers, "128KB", rejected},
      {&kSharedBuffers, "128MBs", rejected},
      {&kSharedBuffers, "128MBB", rejected},
      {&kSharedBuffers, "128 MB x", rejected},
      {&kSharedBuffers, "128MB;", rejected},
      {&kSharedBuffers, "0x", rejected},
      {&kSharedBuffers, "", rejected},
      {&kSharedBuffers, "   ", rejected},
      {&kSharedBuffers, "MB", rejected},
      {&kSharedBuffers, "-1", rejected},
      {&kSharedBuffers, "-128MB", rejected},
      {&kSharedBuffers, "nan", rejected},
      {&kSharedBuffers, "inf", rejected},
      {&kSharedBuffers, "1e400", rejected},
      {&kSharedBuffers, "2147483648", rejected},
      {&kSharedBuffers, "99999999999999999999", rejected},
      {&kSharedBuffers, "12,8", rejected},
      {&kSharedBuffers, "128\0MB"s, rejected},
      {&kWorkMem, "4MB", 4096},
      {&kWorkMem, "64", 64},
      {&kWorkMem, "63", rejected},
      {&kWorkMem, "64kB", 64},
      {&kWorkMem, "65536B", 64},
      {&kWorkMem, "65537B", 64},
      {&kWorkMem, "0.5MB", 512},
      {&kWorkMem, "1TB", 1073741824},
      {&kWorkMem, "2TB", rejected},    // beyond the integer range
      {&kWorkMem, "1.5kB", rejected},  // 1.5 rounds to 2kB, below 64
      {&kWorkMem, "64.4", 64},
      {&kMinWalSize, "80MB", 80},
      {&kMinWalSize, "1GB", 1024},
      {&kMinWalSize, "2097152kB", 2048},
      {&kMinWalSize, "2621440B", 2.0},  // 2.5MB rounds half to even
      {&kMinWalSize, "1MB", rejected},
      {&kLogParameterMaxLength, "-1", -1},
      {&kLogParameterMaxLength, "-2", rejected},
      {&kLogParameterMaxLength, "1kB", 1024},
      {&kLogParameterMaxLength, "1GB", rejected},
      {&kLogParameterMaxLength, "0x3FFFFFFF", 1073741823},
      {&kLogParameterMaxLength, "-0x1", -1},
  });
}

TEST(PostgresParameters, MemoryIntegerBelowMinimumEvenThoughSyntaxIsFine) {
  EXPECT_TRUE(check_parameter_value(kWorkMem, "1 kB "));
}

TEST(PostgresParameters, TimeIntegers) {
  const std::optional<double> rejected;
  check_number_cases({
      {&kStatementTimeout, "0", 0},
      {&kStatementTimeout, "1000", 1000},
      {&kStatementTimeout, "1s", 1000},
      {&kStatementTimeout, "1 s", 1000},
      {&kStatementTimeout, "1min", 60000},
      {&kStatementTimeout, "1h", 3600000},
      {&kStatementTimeout, "1d", 86400000},
      {&kStatementTimeout, "24d", 2073600000},
      {&kStatementTimeout, "25d", rejected},  // beyond the integer range
      {&kStatementTimeout, "1500us", 2},
      {&kStatementTimeout, "2500us", 2},
      {&kStatementTimeout, "500us", 0},
      {&kStatementTimeout, "1.5s", 1500},
      {&kStatementTimeout, "0.5min", 30000},
      {&kStatementTimeout, "-1", rejected},
      {&kStatementTimeout, "-1s", rejected},
      {&kStatementTimeout, "1 sec", rejected},
      {&kStatementTimeout, "1S", rejected},
      {&kStatementTimeout, "1m", rejected},
      {&kStatementTimeout, "1mins", rejected},
      {&kStatementTimeout, "1MB", rejected},  // a memory unit on a time parameter
      {&kStatementTimeout, "1d1h", rejected},
      {&kCheckpointTimeout, "5min", 300},
      {&kCheckpointTimeout, "30", 30},
      {&kCheckpointTimeout, "29", rejected},
      {&kCheckpointTimeout, "1d", 86400},
      {&kCheckpointTimeout, "2d", rejected},
      {&kCheckpointTimeout, "30000ms", 30},
      {&kCheckpointTimeout, "29500ms", 30},        // 29.5 rounds half to even: 30
      {&kCheckpointTimeout, "28500ms", rejected},  // 28
      {&kCheckpointTimeout, "0.5min", 30},
      {&kLogRotationAge, "1d", 1440},
      {&kLogRotationAge, "90s", 2},
      {&kLogRotationAge, "30s", 0},
      {&kLogRotationAge, "1h", 60},
      {&kLogRotationAge, "60000ms", 1},
  });
}

TEST(PostgresParameters, PlainIntegers) {
  const std::optional<double> rejected;
  check_number_cases({
      {&kMaxConnections, "100", 100},         {&kMaxConnections, " 100 ", 100},
      {&kMaxConnections, "1e2", 100},         {&kMaxConnections, "1", 1},
      {&kMaxConnections, "0", rejected},      {&kMaxConnections, "262143", 262143},
      {&kMaxConnections, "262144", rejected}, {&kMaxConnections, "100MB", rejected},
      {&kMaxConnections, "100s", rejected},   {&kMaxConnections, "100 connections", rejected},
      {&kMaxConnections, "ten", rejected},    {&kMaxConnections, "0.5", rejected},  // rounds to 0
      {&kMaxConnections, "1.5", 2},           {&kMaxConnections, ".5e1", 5},
      {&kMaxConnections, "-0x10", rejected},  {&kExtraFloatDigits, "-15", -15},
      {&kExtraFloatDigits, "-16", rejected},  {&kExtraFloatDigits, "3", 3},
      {&kExtraFloatDigits, "-1.5", -2},       {&kExtraFloatDigits, "- 1", rejected},
      {&kExtraFloatDigits, "--1", rejected},
  });
}

TEST(PostgresParameters, Reals) {
  const std::optional<double> rejected;
  check_number_cases({
      {&kRandomPageCost, "4", 4},
      {&kRandomPageCost, "1.1", 1.1},
      {&kRandomPageCost, " 1.1 ", 1.1},
      {&kRandomPageCost, ".5", 0.5},
      {&kRandomPageCost, "5.", 5},
      {&kRandomPageCost, "0", 0},
      {&kRandomPageCost, "1e308", 1e308},
      {&kRandomPageCost, "0x1p3", 8},
      {&kRandomPageCost, "010", 10},  // reals are always decimal
      {&kRandomPageCost, "-0.5", rejected},
      {&kRandomPageCost, "inf", rejected},
      {&kRandomPageCost, "nan", rejected},
      {&kRandomPageCost, "1e400", rejected},
      {&kRandomPageCost, "1e-400", rejected},  // underflow is an error too
      {&kRandomPageCost, "1,5", rejected},
      {&kRandomPageCost, "4ms", rejected},
      {&kRandomPageCost, "", rejected},
      {&kVacuumCostDelay, "2ms", 2},
      {&kVacuumCostDelay, "2", 2},
      {&kVacuumCostDelay, "0.5ms", 0.5},
      {&kVacuumCostDelay, "1500us", 1.5},
      {&kVacuumCostDelay, "1234us", 1.234},
      {&kVacuumCostDelay, "0.1s", 100},
      {&kVacuumCostDelay, "0.2s", rejected},
      {&kVacuumCostDelay, "100", 100},
      {&kVacuumCostDelay, "100.5", rejected},
      {&kVacuumCostDelay, "-1", rejected},
      {&kVacuumCostDelay, "2kB", rejected},
      {&kCheckpointCompletionTarget, "0.9", 0.9},
      {&kCheckpointCompletionTarget, "1", 1},
      {&kCheckpointCompletionTarget, "0", 0},
      {&kCheckpointCompletionTarget, "1.0000001", rejected},
  });
}

TEST(PostgresParameters, Booleans) {
  struct Case {
    std::string value;
    std::optional<bool> expected;
  };
  const std::vector<Case> cases = {
      {"on", true},
      {"ON", true},
      {"On", true},
      {"off", false},
      {"OFF", false},
      {"of", false},
      {"Of", false},
      {"true", true},
      {"TRUE", true},
      {"tru", true},
      {"tr", true},
      {"t", true},
      {"T", true},
      {"false", false},
      {"fals", false},
      {"f", false},
      {"F", false},
      {"yes", true},
      {"ye", true},
      {"y", true},
      {"YES", true},
      {"no", false},
      {"n", false},
      {"NO", false},
      {"1", true},
      {"0", false},
      {"o", std::nullopt},
      {"", std::nullopt},
      {" on", std::nullopt},
      {"on ", std::nullopt},
      {"01", std::nullopt},
      {"10", std::nullopt},
      {"00", std::nullopt},
      {"2", std::nullopt},
      {"-1", std::nullopt},
      {"yess", std::nullopt},
      {"truee", std::nullopt},
      {"onn", std::nullopt},
      {"offf", std::nullopt},
      {"ofF ", std::nullopt},
      {"maybe", std::nullopt},
      {"enable", std::nullopt},
      {"nope", std::nullopt},
      {"on\0"s, std::nullopt},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE("\"" + test.value + "\"");
    EXPECT_EQ(parse_postgres_bool(test.value), test.expected);
    EXPECT_EQ(check_parameter_value(kEnableSeqscan, test.value).has_value(), !test.expected.has_value());
  }
}

TEST(PostgresParameters, Enums) {
  struct Case {
    const ParameterSpec* spec;
    std::string value;
    bool accepted;
  };
  const std::vector<Case> cases = {
      {&kWalLevel, "replica", true},
      {&kWalLevel, "REPLICA", true},
      {&kWalLevel, "Logical", true},
      {&kWalLevel, "minimal", true},
      {&kWalLevel, "archive", true},  // hidden: accepted but not listed
      {&kWalLevel, "hot_standby", true},
      {&kWalLevel, " replica", false},
      {&kWalLevel, "replica ", false},
      {&kWalLevel, "rep", false},  // no prefixes for enums
      {&kWalLevel, "minimal2", false},
      {&kWalLevel, "", false},
      {&kWalLevel, "on", false},
      {&kSynchronousCommit, "on", true},
      {&kSynchronousCommit, "OFF", true},
      {&kSynchronousCommit, "local", true},
      {&kSynchronousCommit, "remote_apply", true},
      {&kSynchronousCommit, "true", true},
      {&kSynchronousCommit, "false", true},
      {&kSynchronousCommit, "yes", true},
      {&kSynchronousCommit, "no", true},
      {&kSynchronousCommit, "1", true},
      {&kSynchronousCommit, "0", true},
      {&kSynchronousCommit, "t", false},  // bool prefixes are not enum values
      {&kSynchronousCommit, "of", false},
      {&kSynchronousCommit, "y", false},
      {&kSynchronousCommit, "remote", false},
      {&kClientMinMessages, "debug", true},
      {&kClientMinMessages, "info", true},
      {&kClientMinMessages, "log", true},
      {&kClientMinMessages, "WARNING", true},
      {&kClientMinMessages, "fatal", false},
      {&kClientMinMessages, "panic", false},
      {&kClientMinMessages, "debug6", false},
      {&kLogMinMessages, "debug", true},
      {&kLogMinMessages, "info", true},
      {&kLogMinMessages, "fatal", true},
      {&kLogMinMessages, "true", false},
      {&kSslMaxProtocolVersion, "", true},
      {&kSslMaxProtocolVersion, "tlsv1.3", true},
      {&kSslMaxProtocolVersion, "TLSv1.4", false},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.spec->name + " = \"" + test.value + "\"");
    const auto error = check_parameter_value(*test.spec, test.value);
    EXPECT_EQ(!error.has_value(), test.accepted) << error.value_or("");
    EXPECT_FALSE(parameter_value_in_base_unit(*test.spec, test.value).ok());
  }
}

TEST(PostgresParameters, Strings) {
  ParameterSpec spec;
  spec.name = "application_name";
  spec.type = ParameterType::kString;
  for (const std::string value : {"", " ", "psql", "a'b", "ünïcode", "x = y"}) {
    EXPECT_FALSE(check_parameter_value(spec, value)) << value;
  }
  EXPECT_TRUE(check_parameter_value(spec, "a\0b"s));
  EXPECT_FALSE(parameter_value_in_base_unit(spec, "1").ok());
}

TEST(PostgresParameters, ErrorMessagesSayWhatIsExpectedAndWhatWasGiven) {
  struct Case {
    const ParameterSpec* spec;
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {&kSharedBuffers, "4XB",
       R"(expected an integer between 16 and 1073741823 (in units of 8kB), optionally with a unit of B, kB, MB, GB or TB, got "4XB")"},
      {&kSharedBuffers, "64kB",
       R"(expected an integer between 16 and 1073741823 (in units of 8kB), optionally with a unit of B, kB, MB, GB or TB, got "64kB" (8 in units of 8kB))"},
      {&kSharedBuffers, "3000000000",
       R"(expected an integer between 16 and 1073741823 (in units of 8kB), optionally with a unit of B, kB, MB, GB or TB, got "3000000000" (beyond the integer range))"},
      {&kStatementTimeout, "1 sec",
       R"(expected an integer between 0 and 2147483647 (in units of ms), optionally with a unit of us, ms, s, min, h or d, got "1 sec")"},
      {&kMaxConnections, "100MB",
       R"(expected an integer between 1 and 262143, got "100MB" (this parameter takes no unit))"},
      {&kMaxConnections, "0", R"(expected an integer between 1 and 262143, got "0")"},
      {&kRandomPageCost, "-1", R"(expected a number of at least 0, got "-1")"},
      {&kCheckpointCompletionTarget, "2", R"(expected a number between 0 and 1, got "2")"},
      {&kVacuumCostDelay, "1s",
       R"(expected a number between 0 and 100 (in units of ms), optionally with a unit of us, ms, s, min, h or d, got "1s" (1000 in units of ms))"},
      {&kWalLevel, "minimal2",
       R"(expected one of minimal, replica, logical, got "minimal2" (did you mean "minimal"?))"},
      {&kWalLevel, "zzzzzzzz", R"(expected one of minimal, replica, logical, got "zzzzzzzz")"},
      {&kSslMaxProtocolVersion, "x", R"(expected one of "", TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, got "x")"},
      {&kEnableSeqscan, "maybe", R"(expected a boolean (on/off, true/false, yes/no, 1/0), got "maybe")"},
      {&kEnableSeqscan, " on", R"(expected a boolean (on/off, true/false, yes/no, 1/0), got " on")"},
      {&kEnableSeqscan, "a\"b\n", R"(expected a boolean (on/off, true/false, yes/no, 1/0), got "a\"b\n")"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.spec->name + " = \"" + test.value + "\"");
    EXPECT_EQ(check_parameter_value(*test.spec, test.value).value_or("(accepted)"), test.message);
  }
}

TEST(PostgresParameters, BoundsMayBeMissing) {
  ParameterSpec spec = integer_spec("custom", "", 0, 0);
  spec.min_value.reset();
  spec.max_value.reset();
  EXPECT_FALSE(check_parameter_value(spec, "-2147483648"));
  EXPECT_FALSE(check_parameter_value(spec, "2147483647"));
  EXPECT_EQ(check_parameter_value(spec, "x").value_or(""), R"(expected an integer, got "x")");
  spec.max_value = 10;
  EXPECT_EQ(check_parameter_value(spec, "11").value_or(""), R"(expected an integer of at most 10, got "11")");
}

TEST(PostgresParameters, UnusualPageSizesAndUnknownUnits) {
  // A server built with 16kB pages reports its page unit as "16kB".
  const ParameterSpec pages = integer_spec("shared_buffers", "16kB", 16, 1073741823);
  EXPECT_EQ(parameter_value_in_base_unit(pages, "128MB").value(), 8192);
  // A unit we do not know takes no unit suffix rather than a wrong conversion.
  const ParameterSpec odd = integer_spec("odd", "furlong", 0, 100);
  EXPECT_FALSE(check_parameter_value(odd, "5"));
  EXPECT_TRUE(check_parameter_value(odd, "5MB"));
}

TEST(PostgresParameters, TypeNames) {
  EXPECT_EQ(parameter_type_name(ParameterType::kBool), "bool");
  EXPECT_EQ(parameter_type_name(ParameterType::kInteger), "integer");
  EXPECT_EQ(parameter_type_name(ParameterType::kReal), "real");
  EXPECT_EQ(parameter_type_name(ParameterType::kString), "string");
  EXPECT_EQ(parameter_type_name(ParameterType::kEnum), "enum");
}

ParameterCatalog sample_catalog() {
  ParameterSpec shared_buffers = kSharedBuffers;
  shared_buffers.default_value = "16384";
  shared_buffers.short_description = "Sets the number of shared memory buffers used by the server.";
  ParameterSpec wal_level = kWalLevel;
  wal_level.context = "postmaster";
  wal_level.default_value = "replica";
  ParameterSpec application_name;
  application_name.name = "application_name";
  application_name.type = ParameterType::kString;
  application_name.context = "user";
  return ParameterCatalog(15, "15.18", {wal_level, kRandomPageCost, shared_buffers, kEnableSeqscan, application_name});
}

TEST(ParameterCatalog, FindIsCaseInsensitiveAndNamesAreSorted) {
  const ParameterCatalog catalog = sample_catalog();
  EXPECT_EQ(catalog.major_version(), 15);
  EXPECT_EQ(catalog.server_version(), "15.18");
  EXPECT_EQ(catalog.size(), 5u);
  ASSERT_NE(catalog.find("shared_buffers"), nullptr);
  ASSERT_NE(catalog.find("Shared_Buffers"), nullptr);
  EXPECT_EQ(catalog.find("SHARED_BUFFERS")->unit, "8kB");
  EXPECT_EQ(catalog.find("shared_buffer"), nullptr);
  EXPECT_EQ(catalog.find(""), nullptr);
  EXPECT_EQ(catalog.names(), (std::vector<std::string>{"application_name", "enable_seqscan", "random_page_cost",
                                                       "shared_buffers", "wal_level"}));
}

TEST(ParameterCatalog, JsonRoundTrip) {
  const ParameterCatalog catalog = sample_catalog();
  const nlohmann::json json = catalog.to_json();
  EXPECT_EQ(json["major_version"], 15);
  EXPECT_EQ(json["server_version"], "15.18");
  ASSERT_EQ(json["parameters"].size(), 5u);
  const auto& first = json["parameters"][0];
  EXPECT_EQ(first["name"], "application_name");
  EXPECT_EQ(first["type"], "string");
  EXPECT_TRUE(first["min"].is_null());
  EXPECT_TRUE(first["max"].is_null());
  EXPECT_EQ(json["parameters"][3]["name"], "shared_buffers");
  EXPECT_EQ(json["parameters"][3]["type"], "integer");
  EXPECT_EQ(json["parameters"][3]["min"], 16);
  EXPECT_EQ(json["parameters"][3]["unit"], "8kB");
  EXPECT_EQ(json["parameters"][3]["default"], "16384");
  EXPECT_EQ(json["parameters"][4]["enum_values"], (nlohmann::json{"minimal", "replica", "logical"}));

  // Through text as well: DBL_MAX must survive.
  const auto parsed = ParameterCatalog::from_json(nlohmann::json::parse(json.dump()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->to_json(), json);
  EXPECT_EQ(parsed->find("random_page_cost")->max_value, DBL_MAX);
  EXPECT_EQ(parsed->find("wal_level")->type, ParameterType::kEnum);
  EXPECT_EQ(parsed->find("shared_buffers")->short_description,
            "Sets the number of shared memory buffers used by the server.");
}

TEST(ParameterCatalog, OptionalFieldsMayBeAbsent) {
  const auto parsed = ParameterCatalog::from_json(nlohmann::json::parse(R"({
    "major_version": 15, "server_version": "15.18",
    "parameters": [{"name": "work_mem", "type": "integer", "unit": "kB", "min": 64, "max": null},
                   {"name": "application_name", "type": "string", "default": null}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->find("work_mem")->min_value, 64);
  EXPECT_FALSE(parsed->find("work_mem")->max_value);
  EXPECT_EQ(parsed->find("application_name")->default_value, "");
}

TEST(ParameterCatalog, MalformedJsonGivesClearErrors) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::string head = R"("major_version": 15, "server_version": "15.18", )";
  const std::vector<Case> cases = {
      {"[]", "parameter catalogue: top level: expected an object, got an array"},
      {R"({"server_version": "15.18", "parameters": []})",
       "parameter catalogue: major_version: missing (expected an integer)"},
      {R"({"major_version": "15", "server_version": "15.18", "parameters": []})",
       "parameter catalogue: major_version: expected an integer, got a string"},
      {R"({"major_version": 15.5, "server_version": "15.18", "parameters": []})",
       "parameter catalogue: major_version: expected an integer, got a number"},
      {R"({"major_version": 0, "server_version": "15.18", "parameters": []})",
       "parameter catalogue: major_version: expected a Postgres major version, got 0"},
      {R"({"major_version": 15, "parameters": []})",
       "parameter catalogue: server_version: missing (expected a string)"},
      {R"({"major_version": 15, "server_version": 15, "parameters": []})",
       "parameter catalogue: server_version: expected a string, got an integer"},
      {"{" + head + R"("parameters": {}})", "parameter catalogue: parameters: expected an array, got an object"},
      {"{" + head + R"("x": 1})", "parameter catalogue: parameters: missing (expected an array)"},
      {"{" + head + R"("parameters": [1]})", "parameter catalogue: parameters[0]: expected an object, got an integer"},
      {"{" + head + R"("parameters": [{"type": "bool"}]})",
       "parameter catalogue: parameters[0].name: missing (expected a string)"},
      {"{" + head + R"("parameters": [{"name": "", "type": "bool"}]})",
       "parameter catalogue: parameters[0].name: must not be empty"},
      {"{" + head + R"("parameters": [{"name": "x"}]})",
       "parameter catalogue: parameters[0] (x).type: missing (expected a string)"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "float"}]})",
       R"(parameter catalogue: parameters[0] (x).type: expected one of bool, integer, real, string, enum, got "float")"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "integer", "min": "1"}]})",
       "parameter catalogue: parameters[0] (x).min: expected a number or null, got a string"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "integer", "min": 5, "max": 1}]})",
       "parameter catalogue: parameters[0] (x): min 5 is above max 1"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "bool", "unit": 8}]})",
       "parameter catalogue: parameters[0] (x).unit: expected a string, got an integer"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "enum", "enum_values": "a,b"}]})",
       "parameter catalogue: parameters[0] (x).enum_values: expected an array of strings, got a string"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "enum", "enum_values": ["a", 2]}]})",
       "parameter catalogue: parameters[0] (x).enum_values[1]: expected a string, got an integer"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "enum"}]})",
       "parameter catalogue: parameters[0] (x).enum_values: an enum parameter needs at least one value"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "bool", "default": true}]})",
       "parameter catalogue: parameters[0] (x).default: expected a string, got a boolean"},
      {"{" + head + R"("parameters": [{"name": "x", "type": "bool"}, {"name": "X", "type": "bool"}]})",
       "parameter catalogue: parameters[1] (X): listed twice"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.json);
    const auto parsed = ParameterCatalog::from_json(nlohmann::json::parse(test.json));
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(parsed.error().message, test.message);
  }
}

}  // namespace
}  // namespace pgstack::model
