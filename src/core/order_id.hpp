#pragma once
#include <cstdint>
#include <random>
#include <string>

namespace chatglmd::core {

inline constexpr int kOrderIdDigits = 12;

// Formats a 12-digit order id (first digit never 0) from any 64-bit value.
std::string order_id_from(std::uint64_t value);

// Random 12-digit ids; the store's UNIQUE constraint is the final word and the caller retries
// on a collision (one in 9e11 per pair).
class OrderIdGenerator {
 public:
  OrderIdGenerator();
  explicit OrderIdGenerator(std::uint64_t seed) : rng_(seed) {}
  std::string next() { return order_id_from(rng_()); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace chatglmd::core
