#pragma once
// Whole responses, the {code, info, data} envelope of the /api endpoints and the OpenAI error
// shape of the /v1 endpoints.
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace chatglmd::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  Headers headers;  // extra headers (Cache-Control, Allow, ...)
  std::string body;
  bool close = false;  // close the connection after this response

  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, const boost::json::value& body);
};

// Envelope codes (DESIGN.md "HTTP front"); the README lists them for clients.
namespace code {
inline constexpr std::string_view ok = "0000";
inline constexpr std::string_view unknown_error = "0001";
inline constexpr std::string_view bad_parameter = "0002";
inline constexpr std::string_view not_authorised = "0003";
inline constexpr std::string_view not_found = "0004";        // no such endpoint
inline constexpr std::string_view rate_limited = "0005";     // too many requests this minute
inline constexpr std::string_view quota_exhausted = "0006";  // no chats left
inline constexpr std::string_view account_frozen = "0007";
inline constexpr std::string_view model_not_allowed = "0008";
inline constexpr std::string_view upstream_error = "0009";     // the model service failed
inline constexpr std::string_view store_unavailable = "0010";  // the store takes no writes now
inline constexpr std::string_view product_offline = "OE001";
}  // namespace code

// HTTP 200 with {"code","info","data"}, as the original service answered.
Response envelope(std::string_view code, std::string_view info, boost::json::value data = nullptr);
inline Response envelope_ok(boost::json::value data = nullptr) {
  return envelope(code::ok, "success", std::move(data));
}
// The same with `data_json` already serialised (for numbers Boost.JSON would print as 9.99E0).
Response envelope_raw(std::string_view code, std::string_view info, std::string_view data_json);
// Same body with another HTTP status (404 for an unknown path, 413 for an oversized body).
Response envelope_status(int status, std::string_view code, std::string_view info);

// {"error":{"message","type","code"}} with the given HTTP status (OpenAI conventions).
Response openai_error(int status, std::string_view message, std::string_view type,
                      std::string_view code = {});

// True for paths that follow OpenAI conventions (/v1/...), false for the envelope API.
bool is_openai_path(std::string_view path);

std::string_view reason_phrase(int status);

}  // namespace chatglmd::http
