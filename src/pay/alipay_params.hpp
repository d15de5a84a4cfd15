#pragma once
// Alipay parameter lists: the signing string (protocols.md A2 / A4) and form encoding.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatglmd::pay {

// Decoded key/value pairs in wire order.
using Params = std::vector<std::pair<std::string, std::string>>;

enum class EmptyValues { Drop, Keep };

// Sorted by key (byte order), raw `k=v` joined by `&`; `sign` is never part of it. Callers that
// must also leave out `sign_type` (notifies) remove it first.
std::string sign_content(Params params, EmptyValues empties);

// application/x-www-form-urlencoded (also fine for a URL query): keys and values
// percent-encoded except unreserved characters.
std::string form_encode(const Params& params);
std::string url_encode(std::string_view text);
// Decodes once (`+` -> space, `%XX` -> byte). nullopt on a malformed body (bad escape, a
// character that cannot appear in a form).
std::optional<Params> form_decode(std::string_view body);

// First value of `key`, or nullopt.
std::optional<std::string> find_param(const Params& params, std::string_view key);

}  // namespace chatglmd::pay
