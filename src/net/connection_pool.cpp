#include <iterator>

#include "net/connection.hpp"

namespace chatglmd::net::detail {

std::unique_ptr<Connection> ConnectionPool::take(const std::string& key,
                                                 const asio::io_context* loop) {
  std::vector<std::unique_ptr<Connection>> stale;  // destroyed outside the lock
  std::unique_ptr<Connection> found;
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    const auto now = std::chrono::steady_clock::now();
    if (loop) {
      for (auto c = list.rbegin(); c != list.rend(); ++c) {
        const asio::execution_context& context =
            asio::query((*c)->strand, asio::execution::context);
        if (&context != loop || now - (*c)->idle_since >= kMaxIdleAge) continue;
        found = std::move(*c);
        list.erase(std::next(c).base());
        return found;
      }
    }
    while (!list.empty()) {
      auto connection = std::move(list.back());  // most recently used first: least likely closed
      list.pop_back();
      if (now - connection->idle_since < kMaxIdleAge) {
        found = std::move(connection);
        break;
      }
      stale.push_back(std::move(connection));
    }
  }
  return found;
}

void ConnectionPool::give_back(const std::string& key, std::unique_ptr<Connection> connection) {
  std::unique_ptr<Connection> evicted;
  std::lock_guard lock(mutex_);
  if (max_idle_per_host_ == 0) return;
  connection->idle_since = std::chrono::steady_clock::now();
  auto& list = idle_[key];
  if (list.size() >= max_idle_per_host_) {
    evicted = std::move(list.front());
    list.erase(list.begin());
  }
  list.push_back(std::move(connection));
}

std::size_t ConnectionPool::idle_count(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = idle_.find(key);
  return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace chatglmd::net::detail
