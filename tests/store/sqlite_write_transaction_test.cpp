// WriteTransaction's nesting on one SQLite connection: the outer transaction, a savepoint per
// unit (as the group committer opens them), and the repository calls inside a unit sharing the
// unit's savepoint instead of paying a SAVEPOINT and a RELEASE each.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "store/sqlite_db.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::store {
namespace {

class WriteTransactionNesting : public ::testing::Test {
 protected:
  WriteTransactionNesting() : db_({dir_.file("t.db")}) {
    db_.exec_script("CREATE TABLE item (name TEXT PRIMARY KEY)");
    sqlite3_trace_v2(db_.raw(), SQLITE_TRACE_STMT, &WriteTransactionNesting::trace, this);
  }
  ~WriteTransactionNesting() override { sqlite3_trace_v2(db_.raw(), 0, nullptr, nullptr); }

  static int trace(unsigned, void* self, void* stmt, void*) {
    const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(stmt));
    static_cast<WriteTransactionNesting*>(self)->statements_.emplace_back(sql ? sql : "");
    return 0;
  }
  int count(const std::string& prefix) const {
    int n = 0;
    for (const auto& s : statements_) n += s.rfind(prefix, 0) == 0;
    return n;
  }
  void insert(const std::string& name) {
    db_.prepare("INSERT INTO item (name) VALUES (?1)").bind(1, name).exec();
  }
  std::vector<std::string> items() {
    std::vector<std::string> out;
    auto st = db_.prepare("SELECT name FROM item ORDER BY name");
    while (st.step()) out.push_back(st.text(0));
    return out;
  }
  // A repository call: its own WriteTransaction around a write.
  void repository_insert(const std::string& name) {
    WriteTransaction tx(db_);
    insert(name);
    tx.commit();
  }

  testing::TempDir dir_;
  Db db_;
  std::vector<std::string> statements_;
};

TEST_F(WriteTransactionNesting, CallsInsideAUnitShareItsSavepoint) {
  {
    WriteTransaction batch(db_);
    for (const char* unit_name : {"a", "b"}) {
      WriteTransaction unit(db_);
      repository_insert(std::string(unit_name) + "1");
      repository_insert(std::string(unit_name) + "2");
      unit.commit();
    }
    batch.commit();
  }
  EXPECT_EQ(count("BEGIN"), 1);
  EXPECT_EQ(count("SAVEPOINT"), 2) << "one per unit, none per call inside it";
  EXPECT_EQ(count("RELEASE"), 2);
  EXPECT_EQ(count("COMMIT"), 1);
  EXPECT_EQ(items(), (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
}

TEST_F(WriteTransactionNesting, AUnitWhoseCallThrowsRollsBackAloneAndTheBatchCommits) {
  {
    WriteTransaction batch(db_);
    {
      WriteTransaction unit(db_);
      repository_insert("kept");
      unit.commit();
    }
    try {
      WriteTransaction unit(db_);
      repository_insert("lost1");
      WriteTransaction call(db_);
      insert("lost2");
      throw std::runtime_error("the call fails after its write");
    } catch (const std::runtime_error&) {
    }
    batch.commit();
  }
  EXPECT_EQ(items(), std::vector<std::string>{"kept"});
}

// A unit that swallows the failure of a call which had written already: without a savepoint of
// its own the call cannot undo its half, so the unit must not commit it.
TEST_F(WriteTransactionNesting, AUnitThatSwallowsAHalfDoneCallFailsWhole) {
  {
    WriteTransaction batch(db_);
    {
      WriteTransaction unit(db_);
      repository_insert("other");
      unit.commit();
    }
    {
      WriteTransaction unit(db_);
      repository_insert("before");
      try {
        WriteTransaction call(db_);
        insert("half");
        throw std::runtime_error("fails after its write");
      } catch (const std::runtime_error&) {
        // carries on as if the call had left nothing behind
      }
      EXPECT_THROW(unit.commit(), StoreError);
    }
    {
      WriteTransaction unit(db_);
      repository_insert("after");
      unit.commit();
    }
    batch.commit();
  }
  EXPECT_EQ(items(), (std::vector<std::string>{"after", "other"}))
      << "the swallowing unit left nothing; the others committed";
}

// A call that ends early without writing (unknown order, refused transition) is no failure.
TEST_F(WriteTransactionNesting, ACallThatEndsWithoutWritingLeavesTheUnitAlone) {
  {
    WriteTransaction batch(db_);
    WriteTransaction unit(db_);
    repository_insert("x");
    {
      WriteTransaction call(db_);
      auto st = db_.prepare("SELECT 1 FROM item WHERE name = 'missing'");
      EXPECT_FALSE(st.step());
    }  // no commit(): an early return
    unit.commit();
    batch.commit();
  }
  EXPECT_EQ(items(), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace chatglmd::store
