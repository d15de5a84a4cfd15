// The front's request reading: Beast's parser with the server's limits, the framing check the
// connection makes, and the conversion to a handler's Request (target, query, headers, client).
#include <boost/beast/core/error.hpp>

#include "fuzz/fuzz_support.hpp"
#include "http/request_reader.hpp"
#include "http/server.hpp"

using namespace chatglmd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const http::TrustedProxies trusted = [] {
    std::string error;
    return *http::TrustedProxies::parse({"127.0.0.0/8", "::1/128", "10.0.0.0/8"}, error);
  }();
  std::string_view bytes = fuzz::as_text(data, size);
  // Requests one after another on one connection, as a keep-alive client sends them.
  for (int requests = 0; requests < 8 && !bytes.empty(); ++requests) {
    http::RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(http::kDefaultHeaderLimit));
    parser.body_limit(http::kDefaultMaxBody);
    parser.eager(true);
    boost::beast::error_code ec;
    bool checked_framing = false;
    while (!bytes.empty() && !parser.is_done()) {
      auto used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
      if (ec == boost::beast::http::error::need_more) break;
      if (ec) return 0;
      FUZZ_CHECK(used <= bytes.size());
      bytes.remove_prefix(used);
      if (!checked_framing && parser.is_header_done()) {
        checked_framing = true;
        if (http::body_length_unknown(parser)) return 0;  // answered 400 and closed
      }
      if (used == 0) break;
    }
    if (!parser.is_done()) {
      // The peer closed: Beast finishes a body that runs to the end of the stream.
      parser.put_eof(ec);
      if (ec || !parser.is_done()) return 0;
    }
    auto msg = parser.release();
    auto request = http::to_request(msg, "127.0.0.1:40000", trusted);
    if (!request) continue;
    FUZZ_CHECK(request->target == msg.target());
    FUZZ_CHECK(request->body.size() <= http::kDefaultMaxBody);
    FUZZ_CHECK(!request->client.empty());
    FUZZ_CHECK(request->target.starts_with(request->path));
    (void)request->header("Content-Type");
    (void)request->form();
    (void)request->json();
  }
  return 0;
}
