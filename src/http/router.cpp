#include "http/router.hpp"

#include <stdexcept>

namespace chatglmd::http {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    out.emplace_back(path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r{std::move(method), pattern, {}, std::move(handler)};
  for (auto& s : split_path(pattern)) {
    if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
      if (s[1] == '*')
        r.segments.push_back({Segment::rest, s.substr(2, s.size() - 3)});
      else
        r.segments.push_back({Segment::param, s.substr(1, s.size() - 2)});
    } else {
      r.segments.push_back({Segment::literal, s});
    }
  }
  for (std::size_t i = 0; i + 1 < r.segments.size(); ++i)
    if (r.segments[i].kind == Segment::rest)
      throw std::logic_error("{*name} must be the last segment: " + pattern);
  routes_.push_back(std::move(r));
}

void Router::add_sync(std::string method, std::string pattern,
                      std::function<Response(const Request&)> fn) {
  add(std::move(method), std::move(pattern),
      [fn = std::move(fn)](ExchangePtr ex) { ex->respond(fn(ex->request())); });
}

void Router::add_blocking(std::string method, std::string pattern,
                          std::function<Response(const Request&)> fn) {
  add(std::move(method), std::move(pattern), [fn = std::move(fn)](ExchangePtr ex) {
    ex->run_blocking([fn, ex] { ex->respond(fn(ex->request())); });
  });
}

// A match's score is its segment kinds in order ('0' literal, '1' param, '2' rest); the smallest
// score in lexicographic order is the most specific route. A short string, so scoring the
// routes of every request allocates nothing.
std::optional<std::string> Router::score(const Route& r, const std::vector<std::string>& segments,
                                         std::map<std::string, std::string>* params) {
  std::string s;
  std::size_t i = 0;
  for (const auto& seg : r.segments) {
    if (seg.kind == Segment::rest) {
      std::string rest;
      for (std::size_t j = i; j < segments.size(); ++j) {
        if (j > i) rest += '/';
        rest += segments[j];
      }
      if (rest.empty()) return std::nullopt;
      if (params) (*params)[seg.text] = std::move(rest);
      s.push_back('2');
      return s;
    }
    if (i >= segments.size()) return std::nullopt;
    if (seg.kind == Segment::literal) {
      if (segments[i] != seg.text) return std::nullopt;
      s.push_back('0');
    } else {
      if (segments[i].empty()) return std::nullopt;
      if (params) (*params)[seg.text] = segments[i];
      s.push_back('1');
    }
    ++i;
  }
  if (i != segments.size()) return std::nullopt;
  return s;
}

Router::Match Router::match(std::string_view method,
                            const std::vector<std::string>& segments) const {
  Match m;
  const Route* best = nullptr;
  std::string best_score;
  for (const auto& r : routes_) {
    auto s = score(r, segments, nullptr);
    if (!s) continue;
    if (r.method != method) {
      m.allowed_methods.push_back(r.method);
      continue;
    }
    if (!best || *s < best_score) {
      best = &r;
      best_score = std::move(*s);
    }
  }
  if (best) {
    m.handler = &best->handler;
    m.route = best->pattern;
    m.allowed_methods.clear();
    score(*best, segments, &m.params);
  }
  return m;
}

}  // namespace chatglmd::http
