#pragma once
#include <stdexcept>
#include <string>

namespace chatglmd::store {

// Thrown for broken invariants only (I/O errors, corrupt files, SQL bugs); expected outcomes
// (a row that is not there, a lost compare-and-set) are return values. Its own header, so that
// the front can tell a store that takes no writes from a bug without knowing the backend.
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }  // the backend's error code

 private:
  int code_;
};

}  // namespace chatglmd::store
