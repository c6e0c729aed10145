#include "proxy/mirror.h"

#include <map>
#include <memory>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

namespace pgstack::proxy {
namespace {

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using ShadowConnection = std::unique_ptr<PGconn, ConnectionCloser>;

}  // namespace

Mirror::Mirror(MirrorConfig config) : config_(std::move(config)) {}

Mirror::~Mirror() { stop(); }

void Mirror::start() {
  thread_ = std::thread([this] { run(); });
}

void Mirror::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Mirror::submit(MirrorItem item) {
  {
    std::lock_guard lock(mutex_);
    // Session ends always fit: they free a shadow connection and are tiny.
    if (item.kind == MirrorItem::Kind::kQuery && queue_.size() >= config_.queue_size) {
      ++dropped_;
      return false;
    }
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
  return true;
}

void Mirror::run() {
  std::map<std::uint64_t, ShadowConnection> shadows;
  while (true) {
    MirrorItem item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    if (item.kind == MirrorItem::Kind::kEndSession) {
      shadows.erase(item.session);
      continue;
    }
    auto found = shadows.find(item.session);
    if (found == shadows.end()) {
      if (shadows.size() >= config_.max_connections) {
        ++dropped_;
        continue;
      }
      ShadowConnection connection(PQconnectdb(config_.conninfo.c_str()));
      if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
        spdlog::warn("mirror: cannot connect to the shadow: {}",
                     connection ? PQerrorMessage(connection.get()) : "out of memory");
        ++errors_;
        continue;  // the next query of this session tries again
      }
      found = shadows.emplace(item.session, std::move(connection)).first;
    }
    PGconn* connection = found->second.get();
    PGresult* result = nullptr;
    if (item.extended) {
      std::vector<const char*> values;
      std::vector<int> lengths;
      std::vector<int> formats;
      std::vector<Oid> types(item.types.begin(), item.types.end());
      types.resize(item.parameters.size(), 0);
      for (std::size_t i = 0; i < item.parameters.size(); ++i) {
        const auto& value = item.parameters[i];
        values.push_back(value ? value->data() : nullptr);
        lengths.push_back(value ? static_cast<int>(value->size()) : 0);
        const int format = item.formats.empty()       ? 0
                           : item.formats.size() == 1 ? item.formats[0]
                           : i < item.formats.size()  ? item.formats[i]
                                                      : 0;
        formats.push_back(format);
      }
      result = PQexecParams(connection, item.sql.c_str(), static_cast<int>(values.size()), types.data(), values.data(),
                            lengths.data(), formats.data(), 0);
    } else {
      result = PQexec(connection, item.sql.c_str());
    }
    const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    PQclear(result);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR) {
      ++errors_;
    } else {
      ++mirrored_;
    }
    if (PQstatus(connection) != CONNECTION_OK) shadows.erase(found);
    // COPY in a mirrored statement would wait for data that never comes: leave it.
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) shadows.erase(item.session);
  }
}

}  // namespace pgstack::proxy
