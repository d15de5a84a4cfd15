// FilterReloader against a real SQLite file changed by a second connection (what `chatglmd
// words add` in another process is), with the interleaving made deterministic by a seam: the
// store used by the reloader runs the other writer right after the reloader read the list.
#include "app/filter_reloader.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "store/sqlite_store.hpp"
#include "support/forwarding_store.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::app {
namespace {

// Forwards to the real repository; runs `after_read` once right after a list is read.
template <typename Repo>
struct AfterRead {
  Repo* real = nullptr;
  std::function<void()> after_read;
  void fire() {
    if (auto f = std::exchange(after_read, nullptr)) f();
  }
};

class HookedWords final : public store::WordRepository, public AfterRead<store::WordRepository> {
 public:
  int add(const std::vector<std::string>& w, core::UtcMs now) override { return real->add(w, now); }
  bool remove(const std::string& w) override { return real->remove(w); }
  std::vector<std::string> list() override {
    auto out = real->list();
    fire();
    return out;
  }
  std::int64_t version() override { return real->version(); }
  store::VersionedList snapshot() override {
    auto out = real->snapshot();
    fire();
    return out;
  }
};

class HookedWhitelist final : public store::WhitelistRepository,
                              public AfterRead<store::WhitelistRepository> {
 public:
  bool add(const std::string& id, core::UtcMs now) override { return real->add(id, now); }
  bool remove(const std::string& id) override { return real->remove(id); }
  std::vector<std::string> list() override {
    auto out = real->list();
    fire();
    return out;
  }
  std::int64_t version() override { return real->version(); }
  store::VersionedList snapshot() override {
    auto out = real->snapshot();
    fire();
    return out;
  }
};

class InterleavingStore final : public testing::ForwardingStore {
 public:
  explicit InterleavingStore(store::Store& real) : ForwardingStore(real) {
    words_.real = &real.words();
    whitelist_.real = &real.whitelist();
  }
  HookedWords& hooked_words() { return words_; }
  HookedWhitelist& hooked_whitelist() { return whitelist_; }
  store::WordRepository& words() override { return words_; }
  store::WhitelistRepository& whitelist() override { return whitelist_; }

 private:
  HookedWords words_;
  HookedWhitelist whitelist_;
};

std::unique_ptr<store::Store> open(const std::string& path) {
  auto opened = store::open_sqlite_store({path, "NORMAL", 5000, true});
  if (!opened.store) throw std::runtime_error(opened.error);
  return std::move(opened.store);
}

struct FilterReloaderTest : ::testing::Test {
  testing::TempDir dir;
  std::unique_ptr<store::Store> daemon_side = open(dir.file("c.db"));
  std::unique_ptr<store::Store> admin_side = open(dir.file("c.db"));  // another process
  InterleavingStore store{*daemon_side};
  filter::FilterHolder holder;
  FilterReloader reloader{store, holder, {"from-config"}, FilterReloader::Polling::on_demand};
  core::UtcMs now{1'700'000'000'000};
};

TEST_F(FilterReloaderTest, AWordAddedJustAfterTheListWasReadIsLoadedAtTheNextPoll) {
  ASSERT_EQ(admin_side->words().add({"alpha"}, now), 1);
  ASSERT_TRUE(reloader.reload_if_changed());
  ASSERT_TRUE(holder.current()->contains_any("alpha"));

  store.hooked_words().after_read = [&] { admin_side->words().add({"bravo"}, now); };
  reloader.reload();
  EXPECT_FALSE(holder.current()->contains_any("bravo")) << "the add came after the read";
  EXPECT_TRUE(reloader.reload_if_changed()) << "the add must count as a change";
  EXPECT_TRUE(holder.current()->contains_any("bravo"));
  EXPECT_FALSE(reloader.reload_if_changed()) << "and only once";
}

TEST_F(FilterReloaderTest, AWhitelistEntryAddedJustAfterTheListWasReadIsLoadedAtTheNextPoll) {
  store.hooked_whitelist().after_read = [&] { admin_side->whitelist().add("vip", now); };
  reloader.reload();
  EXPECT_TRUE(reloader.reload_if_changed());
  EXPECT_TRUE(holder.is_whitelisted("vip"));
  EXPECT_TRUE(holder.is_whitelisted("from-config"));
}

// SIGHUP reloads on an io thread while the poll thread checks: both at once, many times. They
// must end agreeing with the store; a ThreadSanitizer build also reports an unguarded field here.
TEST_F(FilterReloaderTest, ReloadsFromTwoThreadsAtOnceAgree) {
  std::thread poller([&] {
    for (int i = 0; i < 200; ++i) reloader.reload_if_changed();
  });
  for (int i = 0; i < 50; ++i) {
    admin_side->words().add({"w" + std::to_string(i)}, now);
    reloader.reload();
  }
  poller.join();
  reloader.reload_if_changed();
  EXPECT_EQ(holder.current()->size(), 50u);
  EXPECT_FALSE(reloader.reload_if_changed());
}

}  // namespace
}  // namespace chatglmd::app
