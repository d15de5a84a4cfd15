#pragma once
// Method + path routing with {name} segments and a trailing {*name} that takes the rest.
// Literal segments win over {name}, which wins over {*name}, so "/healthz" beats "/{file}".
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.hpp"

namespace chatglmd::http {

class Router {
 public:
  // A handler that answers through the exchange, possibly later and from another thread.
  void add(std::string method, std::string pattern, Handler handler);
  // A handler that answers at once, on the io thread: only for quick work (no store calls).
  void add_sync(std::string method, std::string pattern,
                std::function<Response(const Request&)> fn);
  // A handler that may block (store calls): runs on the worker pool, answers when it returns.
  void add_blocking(std::string method, std::string pattern,
                    std::function<Response(const Request&)> fn);

  struct Match {
    const Handler* handler = nullptr;  // null: no route for this path (or method)
    std::string route;                 // the pattern, used as the metrics label
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed_methods;  // set when the path matched but the method did not
  };
  Match match(std::string_view method, const std::vector<std::string>& segments) const;

  std::size_t size() const { return routes_.size(); }

 private:
  struct Segment {
    enum Kind { literal, param, rest } kind;
    std::string text;  // literal text or parameter name
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  static std::optional<std::string> score(const Route& r, const std::vector<std::string>& segments,
                                          std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

// "/a/b/" -> {"a","b",""}: splits an already decoded path the way Request::segments is built.
std::vector<std::string> split_path(std::string_view path);

}  // namespace chatglmd::http
