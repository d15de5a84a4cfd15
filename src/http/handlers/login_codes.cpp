#include "http/handlers/login_codes.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <limits>
#include <vector>

namespace chatglmd::http {

bool os_random_bytes(std::span<unsigned char> out) {
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

std::optional<std::uint32_t> uniform_below(std::uint32_t bound, const RandomBytes& random) {
  if (bound == 0) return std::nullopt;
  constexpr std::uint64_t kRange = std::uint64_t{std::numeric_limits<std::uint32_t>::max()} + 1;
  // The largest multiple of bound that 32 bits reach: draws at or past it would favour the
  // small remainders, so they are drawn again (each draw is kept with probability > 1/2).
  const std::uint64_t fair = kRange - kRange % bound;
  for (;;) {
    std::array<unsigned char, 4> b{};
    if (!random(b)) return std::nullopt;
    std::uint64_t draw = (std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) |
                         (std::uint64_t{b[2]} << 8) | std::uint64_t{b[3]};
    if (draw < fair) return static_cast<std::uint32_t>(draw % bound);
  }
}

std::optional<int> LoginCodes::slot_of(std::string_view code) {
  if (code.size() != kSlotDigits + kSecretDigits) return std::nullopt;
  int slot = 0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code[i] < '0' || code[i] > '9') return std::nullopt;
    if (i < kSlotDigits) slot = slot * 10 + (code[i] - '0');
  }
  return slot;
}

void LoginCodes::free_slot(int slot) {
  auto it = newest_.find(slots_[slot].openid);
  if (it != newest_.end() && it->second == slot) newest_.erase(it);
  slots_[slot] = Slot{};
}

std::optional<std::string> LoginCodes::draw(const std::string& openid, core::UtcMs now,
                                            core::UtcMs expires_at) {
  std::lock_guard lock(mutex_);
  std::vector<int> free;
  for (int i = 0; i < kSlots; ++i) {
    if (slots_[i].live(now)) continue;
    if (!slots_[i].openid.empty()) free_slot(i);  // ended: forget whose it was
    free.push_back(i);
  }
  if (free.empty()) return std::nullopt;
  auto pick = uniform_below(static_cast<std::uint32_t>(free.size()), random_);
  auto secret = uniform_below(kSecrets, random_);
  if (!pick || !secret) return std::nullopt;
  int slot = free[*pick];
  slots_[slot] = Slot{openid, expires_at, 0};
  return fmt::format("{:0{}}{:0{}}", slot, kSlotDigits, *secret, kSecretDigits);
}

std::optional<std::string> LoginCodes::issue(const std::string& openid, core::UtcMs now,
                                             core::UtcMs expires_at, const Save& save) {
  if (openid.empty()) return std::nullopt;
  std::lock_guard one_at_a_time(issuing_);
  constexpr int kDraws = 5;
  for (int i = 0; i < kDraws; ++i) {
    auto code = draw(openid, now, expires_at);
    if (!code) return std::nullopt;
    bool saved = false;
    try {
      saved = save(*code);
    } catch (...) {
      release(*code);
      throw;
    }
    if (!saved) {
      release(*code);
      continue;
    }
    std::lock_guard lock(mutex_);
    int slot = *slot_of(*code);
    auto older = newest_.find(openid);
    if (older != newest_.end() && older->second != slot && slots_[older->second].openid == openid)
      free_slot(older->second);
    newest_[openid] = slot;
    return code;
  }
  return std::nullopt;
}

void LoginCodes::release(std::string_view code) {
  std::lock_guard lock(mutex_);
  if (auto slot = slot_of(code)) free_slot(*slot);
}

bool LoginCodes::take_try(std::string_view code, core::UtcMs now) {
  auto slot = slot_of(code);
  if (!slot) return false;
  std::lock_guard lock(mutex_);
  Slot& s = slots_[*slot];
  if (!s.live(now) || s.tries >= kTriesPerCode) return false;
  ++s.tries;
  return true;
}

void LoginCodes::redeemed(std::string_view code, const std::string& openid) {
  auto slot = slot_of(code);
  if (!slot) return;
  std::lock_guard lock(mutex_);
  // Only if the slot is still this user's: a newer code of theirs may have freed it meanwhile.
  if (slots_[*slot].openid == openid) free_slot(*slot);
}

int LoginCodes::tries_left(std::string_view code, core::UtcMs now) const {
  auto slot = slot_of(code);
  if (!slot) return 0;
  std::lock_guard lock(mutex_);
  const Slot& s = slots_[*slot];
  return s.live(now) ? kTriesPerCode - s.tries : 0;
}

}  // namespace chatglmd::http
