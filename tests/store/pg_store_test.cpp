// The store suite on the PostgreSQL backend: a throwaway cluster (tests/support/pg_cluster), a
// fresh database per test, several connections to it.
#include "store/pg_store.hpp"

#include <map>
#include <memory>

#include "store_suite.hpp"
#include "support/pg_cluster.hpp"

namespace chatglmd::store::suite {
namespace {

struct PgBackend {
  // Login-code expiry by the database's clock, whatever `now` the caller passes.
  static constexpr bool kTimesFromDatabase = true;
  static std::unique_ptr<Store> open(const std::string& name) {
    static std::map<std::string, std::string> urls;
    static const ::testing::TestInfo* owner = nullptr;
    const auto* current = ::testing::UnitTest::GetInstance()->current_test_info();
    if (owner != current) {  // a fresh database for every test
      urls.clear();
      owner = current;
    }
    auto& url = urls[name];
    if (url.empty())
      url = chatglmd::testing::PgCluster::shared().create_database(current->name() +
                                                                   std::string("_") + name);
    auto opened = open_pg_store({url, "", true});
    if (!opened.store) throw std::runtime_error(opened.error);
    return std::move(opened.store);
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreSuite, PgBackend);

}  // namespace
}  // namespace chatglmd::store::suite
