#pragma once
// Internals shared by server.cpp and connection.cpp; Beast/Asio live here, not in server.hpp.
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "http/cors.hpp"
#include "http/io_runtime.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"

namespace chatglmd::http {

class Connection;

struct ServerMetrics {
  explicit ServerMetrics(metrics::Registry& r);
  metrics::CounterFamily& requests;   // route, status
  metrics::HistogramFamily& latency;  // route
  metrics::Gauge& open_streams;
  metrics::Gauge& open_connections;
  metrics::Counter& rejected_connections;
};

struct ServerImpl : std::enable_shared_from_this<ServerImpl> {
  ServerImpl(IoRuntime& runtime, ServerConfig config, Router router, metrics::Registry& registry);

  IoRuntime& runtime;
  ServerConfig config;
  Router router;
  CorsPolicy cors;
  ServerMetrics metrics;
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand;
  boost::asio::ip::tcp::acceptor acceptor;
  int port = 0;
  std::atomic<bool> draining{false};
  // Set once start() listens. Other threads read this, never the acceptor, which only the accept
  // strand may touch after start (TSan reported ~Server reading it while the strand closed it).
  std::atomic<bool> listening{false};

  std::mutex conns_mutex;
  std::condition_variable conns_changed;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> conns;
  // Requests some handler still holds: one can outlive its connection, e.g. a chat whose charge
  // is in the group commit when its client leaves. Its drop to 0 wakes conns_changed.
  std::atomic<std::size_t> exchanges{0};

  void add(const std::shared_ptr<Connection>& c);
  void remove(Connection* c);
  std::size_t count();
  void exchange_began();
  void exchange_ended();
  // Runs fn(connection) on each live connection's strand.
  template <class Fn>
  void for_each_connection(Fn fn);
};

}  // namespace chatglmd::http
