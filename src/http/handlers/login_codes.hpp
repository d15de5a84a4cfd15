#pragma once
// Login codes that can be neither predicted nor guessed for long.
//
// Digits come from the OS CSPRNG (OpenSSL RAND_bytes) by rejection sampling. A code is 8 digits:
// a 3-digit slot that names one live code, then 5 secret digits. A wrong code whose slot belongs
// to a live code is a wrong try against that code, whoever sends it and from wherever, and the
// code dies after 5 of them: guessing a given code succeeds with a chance of at most 5 in
// 100,000 however many addresses the guesser has. (A counter keyed by the whole code could never
// see a guess: a wrong code is by definition not a live one.) Slots are unique among live codes,
// so at most 1,000 codes are live at once; past that a user is asked to try again shortly.
//
// The slots live in this process: a code issued before a restart is refused (ask for a new one).
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.hpp"

namespace chatglmd::http {

// Fills out with random bytes; false when the source failed.
using RandomBytes = std::function<bool(std::span<unsigned char> out)>;
bool os_random_bytes(std::span<unsigned char> out);

// A number uniform in [0, bound) for 0 < bound: 32-bit draws past the largest multiple of bound
// are drawn again, so no remainder is likelier than another. nullopt when the source fails.
std::optional<std::uint32_t> uniform_below(std::uint32_t bound, const RandomBytes& random);

class LoginCodes {
 public:
  static constexpr int kSlotDigits = 3;
  static constexpr int kSecretDigits = 5;
  static constexpr int kSlots = 1'000;
  static constexpr std::uint32_t kSecrets = 100'000;
  static constexpr int kTriesPerCode = 5;

  explicit LoginCodes(RandomBytes random = os_random_bytes) : random_(std::move(random)) {}

  // Stores the code the store takes, or nullopt. Storing a code replaces the user's older one.
  using Save = std::function<bool(const std::string& code)>;

  // A new code for openid in a free slot, held until expires_at, handed to save (drawn again a
  // few times when save refuses it: a code issued before a restart may still be live). Then the
  // user's older code's slot is free again, so one user holds one slot. nullopt when every slot
  // holds a live code, the random source failed or save kept refusing. Issues run one at a time,
  // so a user's older and newer code cannot be confused by two messages at once.
  std::optional<std::string> issue(const std::string& openid, core::UtcMs now,
                                   core::UtcMs expires_at, const Save& save);

  // Takes one of the tries of the live code in this code's slot, before the store is asked
  // (so parallel guesses cannot slip past the count). False, taking nothing, when the text is
  // not a code, its slot holds no live code, or that code has used all its tries.
  bool take_try(std::string_view code, core::UtcMs now);
  // The code was right (the store gave openid for it) and is used up: its slot is free again.
  void redeemed(std::string_view code, const std::string& openid);
  // How many tries the code in this code's slot has left (0 for none live); for logs and tests.
  int tries_left(std::string_view code, core::UtcMs now) const;

 private:
  struct Slot {
    std::string openid;  // empty: free
    core::UtcMs expires_at{};
    int tries = 0;
    bool live(core::UtcMs now) const { return !openid.empty() && now < expires_at; }
  };
  static std::optional<int> slot_of(std::string_view code);
  std::optional<std::string> draw(const std::string& openid, core::UtcMs now,
                                  core::UtcMs expires_at);
  void free_slot(int slot);  // with mutex_ held
  void release(std::string_view code);

  RandomBytes random_;
  std::mutex issuing_;
  mutable std::mutex mutex_;
  std::array<Slot, kSlots> slots_;
  std::unordered_map<std::string, int> newest_;  // openid -> slot of the user's stored code
};

}  // namespace chatglmd::http
