#pragma once
#include <stdexcept>
#include <string>

namespace chatglmd::store {

// Thrown by every backend for broken invariants only (I/O errors, a lost server, corrupt files,
// SQL bugs); expected outcomes (a row that is not there, a lost compare-and-set) are return
// values. `code` is the backend's own (an SQLite result code, or kPgErrorCode).
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// A COMMIT whose reply was lost and whose outcome the server could not be asked: the writes may
// or may not stand, so nothing that would be wrong twice may be tried again on the strength of it.
class CommitOutcomeUnknown : public StoreError {
 public:
  using StoreError::StoreError;
};

}  // namespace chatglmd::store
