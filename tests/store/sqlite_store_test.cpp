// The store suite on the SQLite backend: a real file per test, several connections to it.
#include "store/sqlite_store.hpp"

#include <map>
#include <memory>

#include "store_suite.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::store::suite {
namespace {

struct SqliteBackend {
  // Login-code expiry by the caller's clock.
  static constexpr bool kTimesFromDatabase = false;
  static std::unique_ptr<Store> open(const std::string& name) {
    static std::unique_ptr<testing::TempDir> dir;
    static const ::testing::TestInfo* owner = nullptr;
    const auto* current = ::testing::UnitTest::GetInstance()->current_test_info();
    if (owner != current) {  // a fresh folder (so a fresh database) for every test
      dir = std::make_unique<testing::TempDir>();
      owner = current;
    }
    auto opened = open_sqlite_store({dir->file(name + ".db"), "NORMAL", 10000, true});
    if (!opened.store) throw std::runtime_error(opened.error);
    return std::move(opened.store);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreSuite, SqliteBackend);

}  // namespace
}  // namespace chatglmd::store::suite
