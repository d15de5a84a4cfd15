#include "daemon/daemon_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <sstream>
#include <stdexcept>

namespace chatglmd::testing {

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect() failed: " + std::to_string(errno));
  }
}

RawClient::~RawClient() {
  close();
}

void RawClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawClient::read_until(const std::function<bool(const std::string&)>& done,
                           milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done(received_)) {
    if (eof_) return false;
    // A zero limit still looks once at what already arrived.
    auto left = std::max<std::int64_t>(
        0, std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now())
               .count());
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;  // a reset counts as the end too
      continue;
    }
    received_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

bool RawClient::read_to_eof(milliseconds limit) {
  read_until([this](const std::string&) { return eof_; }, limit);
  return eof_;
}

int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.substr(9, 3).c_str());
}

boost::json::value sim_call(SimProcess& sim, const std::string& method, const std::string& target,
                            const std::string& json_body) {
  auto r =
      http_request(sim.port(), method, target, json_body, {{"Content-Type", "application/json"}});
  if (r.status != 200)
    throw std::runtime_error("sim " + target + " answered " + std::to_string(r.status) + ": " +
                             r.raw);
  if (r.body.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value(r.body) : v;
}

boost::json::value glm_stats(SimProcess& sim) {
  return sim_call(sim, "GET", "/sim/glm/stats");
}

void glm_fault(SimProcess& sim, const std::string& kind, int count) {
  sim_call(sim, "POST", "/sim/glm/fault",
           boost::json::serialize(boost::json::object{{"kind", kind}, {"count", count}}));
}

std::string chat_json(const std::string& model, const std::string& content,
                      std::string_view extra) {
  boost::json::object o{{"model", model},
                        {"messages", boost::json::array{boost::json::object{
                                         {"role", "user"}, {"content", content}}}}};
  std::string text = boost::json::serialize(o);
  if (!extra.empty()) text.insert(text.size() - 1, "," + std::string(extra));
  return text;
}

HttpReply chat(const DaemonHarness& d, const std::string& path, const std::string& authorization,
               const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
  return d.request("POST", path, body, headers);
}

namespace {
boost::json::object json_object_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}
}  // namespace

std::string envelope_code(const HttpReply& r) {
  auto o = json_object_of(r.body);
  const auto* c = o.if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : "";
}

std::string openai_error_code(const HttpReply& r) {
  auto o = json_object_of(r.body);
  const auto* e = o.if_contains("error");
  if (!e || !e->is_object()) return "";
  const auto* c = e->as_object().if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : "";
}

boost::json::value user_json(const DaemonHarness& d, const std::string& openid) {
  auto r = d.cli({"user", "show", openid, "--json"});
  if (r.exit_code != 0) return nullptr;
  return boost::json::parse(r.out);
}

std::int64_t surplus_quota(const DaemonHarness& d, const std::string& openid) {
  auto u = user_json(d, openid);
  if (u.is_null()) return -1;
  return u.at("surplusQuota").to_number<std::int64_t>();
}

void run_ok(const DaemonHarness& d, const std::vector<std::string>& args) {
  auto r = d.cli(args);
  if (r.exit_code != 0) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    throw std::runtime_error("chatglmd " + joined + "failed: " + r.err);
  }
}

OpenAiStream parse_openai_stream(const std::string& body) {
  OpenAiStream s;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data: ", 0) != 0) continue;
    std::string data = line.substr(6);
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    auto v = boost::json::parse(data);
    if (v.as_object().contains("error")) {
      s.error = true;
      continue;
    }
    const auto& choice = v.at("choices").as_array().at(0).as_object();
    if (const auto* c = choice.at("delta").as_object().if_contains("content"))
      s.text += c->as_string();
    if (const auto& f = choice.at("finish_reason"); f.is_string()) s.finish_reason = f.as_string();
  }
  return s;
}

long utf8_length(std::string_view text) {
  long n = 0;
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
    if (len == 0 || i + len > text.size()) return -1;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return -1;
    i += len;
    ++n;
  }
  return n;
}

std::vector<std::vector<std::string>> sql_rows(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    throw std::runtime_error("cannot open " + db);
  }
  sqlite3_busy_timeout(h, 5000);
  std::vector<std::vector<std::string>> rows;
  char* error = nullptr;
  auto on_row = [](void* out, int n, char** values, char**) {
    auto& r = *static_cast<std::vector<std::vector<std::string>>*>(out);
    r.emplace_back();
    for (int i = 0; i < n; ++i) r.back().emplace_back(values[i] ? values[i] : "");
    return 0;
  };
  int rc = sqlite3_exec(h, sql.c_str(), on_row, &rows, &error);
  std::string why = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(h);
  if (rc != SQLITE_OK) throw std::runtime_error("sql failed: " + why + " in " + sql);
  return rows;
}

std::int64_t sql_int(const std::string& db, const std::string& sql) {
  auto rows = sql_rows(db, sql);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error("no row for " + sql);
  return std::stoll(rows[0][0]);
}

void sql_exec(const std::string& db, const std::string& sql) {
  sql_rows(db, sql);
}

double metric_value(const DaemonHarness& d, const std::string& series) {
  auto r = d.request("GET", "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

}  // namespace chatglmd::testing
