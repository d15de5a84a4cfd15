#include "http/response.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace chatglmd::http {

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::json(int status, const boost::json::value& body) {
  return text(status, boost::json::serialize(body), "application/json; charset=utf-8");
}

Response envelope(std::string_view code, std::string_view info, boost::json::value data) {
  boost::json::object o;
  o["code"] = code;
  o["info"] = info;
  o["data"] = std::move(data);
  return Response::json(200, o);
}

Response envelope_raw(std::string_view code, std::string_view info, std::string_view data_json) {
  std::string body = "{\"code\":" + boost::json::serialize(boost::json::string(code)) +
                     ",\"info\":" + boost::json::serialize(boost::json::string(info)) +
                     ",\"data\":" + std::string(data_json) + "}";
  return Response::text(200, std::move(body), "application/json; charset=utf-8");
}

Response envelope_status(int status, std::string_view code, std::string_view info) {
  Response r = envelope(code, info);
  r.status = status;
  return r;
}

Response openai_error(int status, std::string_view message, std::string_view type,
                      std::string_view code) {
  boost::json::object err;
  err["message"] = message;
  err["type"] = type;
  if (code.empty())
    err["code"] = nullptr;
  else
    err["code"] = code;
  boost::json::object o;
  o["error"] = std::move(err);
  return Response::json(status, o);
}

bool is_openai_path(std::string_view path) {
  return path == "/v1" || path.starts_with("/v1/");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace chatglmd::http
