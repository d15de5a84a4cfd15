#pragma once
// What the connection does with a request Beast has framed: the checks on the framing and the
// conversion to a handler's Request. Beast types appear here because only the connection and
// the request fuzz target include this header.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>

#include "http/client_address.hpp"
#include "http/request.hpp"

namespace chatglmd::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = boost::beast::http::request<boost::beast::http::string_body>;

// RFC 9112 6.3: a Transfer-Encoding that does not end in chunked leaves the body length unknown,
// and Beast would read no body (or fall back to a Content-Length), so the body could pass for a
// second request. Checked once the header is read.
bool body_length_unknown(const RequestParser& parser);

// The handler's view of a complete message (its body is moved out); nullopt when the target is no
// origin-form URL.
std::optional<Request> to_request(RequestMessage& msg, const std::string& peer,
                                  const TrustedProxies& trusted);

}  // namespace chatglmd::http
