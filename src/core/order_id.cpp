#include "core/order_id.hpp"

#include <fmt/format.h>

namespace chatglmd::core {

std::string order_id_from(std::uint64_t value) {
  constexpr std::uint64_t kSpan = 900'000'000'000ULL;  // 100000000000 .. 999999999999
  return fmt::format("{}", 100'000'000'000ULL + value % kSpan);
}

OrderIdGenerator::OrderIdGenerator() : rng_(std::random_device{}()) {}

}  // namespace chatglmd::core
