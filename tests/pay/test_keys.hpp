#pragma once
// Loads the committed test keys (tests/fixtures/) for the pay tests.
#include <gtest/gtest.h>

#include <string>

#include "pay/rsa.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::pay::test {

inline std::string key_text(const std::string& name) {
  return testing::read_file(testing::fixture(name));
}
inline RsaSigner signer(const std::string& name) {
  auto s = RsaSigner::from_text(key_text(name));
  if (!s) throw std::runtime_error("cannot load " + name);
  return *s;
}
inline RsaVerifier verifier(const std::string& name) {
  auto v = RsaVerifier::from_text(key_text(name));
  if (!v) throw std::runtime_error("cannot load " + name);
  return *v;
}

}  // namespace chatglmd::pay::test
