// What the controller runs to keep a log store (pure, no I/O): its two login roles and their grants,
// the partitions a table has, the retention the store keeps, and the deletion of one cluster's rows.
// The statements are run by controller/log_store_maintenance against the store's primary.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logs/log_store_target.h"
#include "model/document.h"

namespace pgstack::logs {

// The usernames of the store's logWriter and logReader credentials (log_store_target.h).
inline constexpr std::string_view kLogWriterUser = "pgstack_log_writer";
inline constexpr std::string_view kLogReaderUser = "pgstack_log_reader";
// What a cluster's logs are kept for when its spec.distributedLogs.retention says nothing.
inline constexpr std::string_view kDefaultLogRetention = "7 days";

// Creates the two roles when missing, sets LOGIN and the passwords, and leaves each exactly its grants:
// the writer inserts lines into every log table (log_tables()) and keeps log_ingest_state, the reader
// selects lines from every log table; PUBLIC keeps no right on the database, pg_monitor keeps CONNECT
// (the exporter). It holds the passwords: never log it.
std::string render_log_store_roles(const std::string& writer_password, const std::string& reader_password);

// A day's partition of `table` made so that lines already in its DEFAULT partition for that day (shipped
// while the partition was missing) move into it: the new table is filled from DEFAULT and attached in one
// transaction, DEFAULT locked against inserts meanwhile (a plain CREATE ... PARTITION OF would fail).
std::string render_create_day_partition_from_default(std::string_view table, std::chrono::sys_days day);

// The partitions of `table` (names), one per row.
std::string render_list_partitions(std::string_view table);
std::string render_drop_partition(const std::string& partition);

// A cluster that ships to the store and how long it wants its lines kept (nothing: kDefaultLogRetention).
struct ClusterLogRetention {
  std::string namespace_name;
  std::string cluster;
  std::optional<std::chrono::seconds> retention;
  bool operator==(const ClusterLogRetention&) const = default;
};

struct RetentionPlan {
  // Whole partitions older than this are dropped: the longest any cluster asks for.
  std::chrono::seconds partitions{};
  // Clusters that ask for less: their older rows are deleted in batches (trim_after each).
  struct Trim {
    std::string namespace_name;
    std::string cluster;
    std::chrono::seconds after{};
    bool operator==(const Trim&) const = default;
  };
  std::vector<Trim> trims;
};
RetentionPlan plan_log_retention(const std::vector<ClusterLogRetention>& users);

// The SGClusters among `clusters` whose spec.distributedLogs.sgDistributedLogs names `store`, with their
// retention (one that does not parse counts as none: the validator refuses it anyway).
std::vector<ClusterLogRetention> clusters_using_store(const std::vector<model::Document>& clusters,
                                                      const LogStoreRef& store);

// "7 days", "12 hours", "90 minutes", "30 seconds": the largest unit that divides it.
std::string format_log_retention(std::chrono::seconds retention);

// Deletes at most `batch` rows of the cluster older than `after` from `table` and returns how many (one
// row, one column); run again while it deleted `batch`, so that no statement holds many locks or runs long.
std::string render_trim_cluster_logs(std::string_view table, const std::string& namespace_name,
                                     const std::string& cluster, std::chrono::seconds after, int batch);

// log_quarantine's rows past the retention: the store's (plan.partitions) and, for a cluster that keeps its lines
// less long, its own (plan.trims). One statement: the table holds only what the store refused.
std::string render_trim_quarantine(const RetentionPlan& plan);

// Every row of a cluster in every log table and log_ingest_state, in one transaction that also marks the
// cluster (its SGCluster's uid) in log_deleted_clusters, so that its running shippers add nothing after it.
std::string render_delete_cluster_logs(const std::string& namespace_name, const std::string& cluster,
                                       const std::string& uid);

}  // namespace pgstack::logs
