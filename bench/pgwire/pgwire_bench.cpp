// Decoding throughput: pgbench-like traffic in both directions, fed in socket-sized reads, counted
// by callbacks that do what a proxy's statistics would (count messages, note transaction state).
// Reports bytes/s and messages/s; run it next to a baseline build on the same machine.
#include <cstdint>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "pgwire/backend_decoder.h"
#include "pgwire/encoder.h"
#include "pgwire/frontend_decoder.h"
#include "pgwire/normalize_query.h"

namespace {

using namespace pgstack::pgwire;

constexpr int kTransactions = 2000;

// pgbench TPC-B, extended protocol with prepared statements (pgbench -M prepared).
std::string frontend_stream(bool simple) {
  std::string stream = encode_startup({{"user", "bench"}, {"database", "pgbench"}});
  if (!simple) {
    stream += encode_parse("P0_1", "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;") +
              encode_parse("P0_2", "SELECT abalance FROM pgbench_accounts WHERE aid = $1;") +
              encode_parse("P0_3", "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;") +
              encode_parse("P0_4",
                           "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES "
                           "($1, $2, $3, $4, CURRENT_TIMESTAMP);") +
              encode_sync();
  }
  for (int i = 0; i < kTransactions; ++i) {
    const std::string aid = std::to_string(1 + (i * 7919) % 100000);
    const std::string delta = std::to_string(i % 10000 - 5000);
    if (simple) {
      stream +=
          encode_query("BEGIN;") +
          encode_query("UPDATE pgbench_accounts SET abalance = abalance + " + delta + " WHERE aid = " + aid + ";") +
          encode_query("SELECT abalance FROM pgbench_accounts WHERE aid = " + aid + ";") +
          encode_query("UPDATE pgbench_tellers SET tbalance = tbalance + " + delta + " WHERE tid = 3;") +
          encode_query("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (3, 1, " + aid + ", " + delta +
                       ", CURRENT_TIMESTAMP);") +
          encode_query("END;");
      continue;
    }
    auto statement = [&](std::string_view name, std::vector<std::optional<std::string_view>> values) {
      stream += encode_bind("", name, values) + encode_describe(TargetKind::kPortal, "") + encode_execute("", 0) +
                encode_sync();
    };
    stream += encode_query("BEGIN;");
    statement("P0_1", {delta, aid});
    statement("P0_2", {aid});
    statement("P0_3", {delta, std::string_view("3")});
    statement("P0_4", {std::string_view("3"), std::string_view("1"), aid, delta});
    stream += encode_query("END;");
  }
  return stream;
}

std::string backend_stream() {
  std::string stream = encode_authentication(AuthenticationKind::kOk) +
                       encode_parameter_status("server_version", "16.3") + encode_backend_key_data(4711, 0x12345678u) +
                       encode_ready_for_query(TransactionStatus::kIdle);
  for (int i = 0; i < kTransactions; ++i) {
    const std::string balance = std::to_string(i % 10000 - 5000);
    stream += encode_command_complete("BEGIN") + encode_ready_for_query(TransactionStatus::kInTransaction);
    stream += encode_bind_complete() + encode_no_data() + encode_command_complete("UPDATE 1") +
              encode_ready_for_query(TransactionStatus::kInTransaction);
    stream += encode_bind_complete() + encode_row_description({{"abalance", 16390, 3, 23, 4, -1, 0}}) +
              encode_data_row({std::string_view(balance)}) + encode_command_complete("SELECT 1") +
              encode_ready_for_query(TransactionStatus::kInTransaction);
    stream += encode_bind_complete() + encode_no_data() + encode_command_complete("UPDATE 1") +
              encode_ready_for_query(TransactionStatus::kInTransaction);
    stream += encode_bind_complete() + encode_no_data() + encode_command_complete("INSERT 0 1") +
              encode_ready_for_query(TransactionStatus::kInTransaction);
    stream += encode_command_complete("COMMIT") + encode_ready_for_query(TransactionStatus::kIdle);
  }
  return stream;
}

// A wide result: 1000 rows of 10 columns.
std::string result_set_stream() {
  std::vector<FieldDescription> fields;
  for (int c = 0; c < 10; ++c) fields.push_back({"column", 16384, static_cast<std::int16_t>(c + 1), 25, -1, -1, 0});
  std::string stream = encode_row_description(fields);
  const std::string value(20, 'v');
  const std::vector<std::optional<std::string_view>> row(10, std::string_view(value));
  for (int r = 0; r < 1000; ++r) stream += encode_data_row(row);
  return stream + encode_command_complete("SELECT 1000") + encode_ready_for_query(TransactionStatus::kIdle);
}

struct FrontendCounter : FrontendEvents {
  void on_message(char, std::size_t wire_size) override {
    ++messages;
    bytes += wire_size;
  }
  void on_query(std::string_view sql) override { query_bytes += sql.size(); }
  void on_bind(const BindMessage& bind) override { parameters += bind.parameters.size(); }
  std::uint64_t messages = 0, bytes = 0, query_bytes = 0, parameters = 0;
};

struct BackendCounter : BackendEvents {
  void on_message(char, std::size_t wire_size) override {
    ++messages;
    bytes += wire_size;
  }
  void on_ready_for_query(TransactionStatus status) override { idle += status == TransactionStatus::kIdle; }
  void on_command_complete(const CommandTag& tag) override { rows += tag.rows.value_or(0); }
  void on_data_row(const DataRow& row) override { columns += row.values.size(); }
  std::uint64_t messages = 0, bytes = 0, idle = 0, rows = 0, columns = 0;
};

template <typename Decoder, typename Counter>
void decode(benchmark::State& state, const std::string& stream) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::uint64_t messages = 0;
  for (auto _ : state) {
    Counter counter;
    Decoder decoder(counter);
    for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
      if (decoder.feed(std::string_view(stream).substr(pos, chunk)) == DecodeStatus::kError) {
        state.SkipWithError(decoder.error().message.c_str());
        return;
      }
    }
    messages += counter.messages;
    benchmark::DoNotOptimize(counter);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.counters["messages/s"] = benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
}

void BM_FrontendExtendedPgbench(benchmark::State& state) {
  static const std::string stream = frontend_stream(false);
  decode<FrontendDecoder, FrontendCounter>(state, stream);
}

void BM_FrontendSimplePgbench(benchmark::State& state) {
  static const std::string stream = frontend_stream(true);
  decode<FrontendDecoder, FrontendCounter>(state, stream);
}

void BM_BackendPgbench(benchmark::State& state) {
  static const std::string stream = backend_stream();
  decode<BackendDecoder, BackendCounter>(state, stream);
}

void BM_BackendResultSet(benchmark::State& state) {
  static const std::string stream = result_set_stream();
  decode<BackendDecoder, BackendCounter>(state, stream);
}

void BM_NormalizeQuery(benchmark::State& state) {
  const std::string sql =
      "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (3, 1, 38213, -2718, CURRENT_TIMESTAMP); "
      "/* app=bench */ SELECT abalance FROM pgbench_accounts WHERE aid IN (1, 2, 3, 4, 5) AND note = 'x''y'";
  for (auto _ : state) benchmark::DoNotOptimize(normalize_query(sql));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * sql.size()));
  state.counters["queries/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Read sizes: a small TCP segment (splits most messages' neighbours), a typical 16 KiB socket read.
BENCHMARK(BM_FrontendExtendedPgbench)->Arg(1460)->Arg(16384);
BENCHMARK(BM_FrontendSimplePgbench)->Arg(1460)->Arg(16384);
BENCHMARK(BM_BackendPgbench)->Arg(1460)->Arg(16384);
BENCHMARK(BM_BackendResultSet)->Arg(1460)->Arg(16384);
BENCHMARK(BM_NormalizeQuery);

}  // namespace
