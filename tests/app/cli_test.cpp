// The real chatglmd binary, run as an operator or cron would run it.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd {
namespace {

using testing::CommandResult;
using testing::run_command;

class Cli : public ::testing::Test {
 protected:
  CommandResult run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), CHATGLMD_BIN);
    args.push_back("--db");
    args.push_back(dir_.file("orders.db"));
    return run_command(args, env);
  }
  // Admin commands need an existing database: only migrate and serve create one.
  void migrated() { ASSERT_EQ(run({"migrate"}).exit_code, 0); }
  testing::TempDir dir_;
};

TEST_F(Cli, MigrateTwiceIsIdempotent) {
  auto first = run({"migrate"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("applied 001_init.sql"), std::string::npos) << first.out;
  auto second = run({"migrate", "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  auto v = boost::json::parse(second.out);
  EXPECT_EQ(v.at("applied").as_int64(), 0);
  EXPECT_EQ(v.at("from"), v.at("to"));
}

TEST_F(Cli, ProductAddThenListJson) {
  migrated();
  auto add = run({"product", "add", "--id", "1001", "--name", "50 chats", "--price", "9.99",
                  "--quota", "50", "--models", "glm-4,glm-3-turbo", "--desc", "starter"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  // Global options after the command work too.
  auto list = run({"product", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto rows = boost::json::parse(list.out).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("productId").as_int64(), 1001);
  EXPECT_EQ(rows[0].at("price").as_string(), "9.99");
  EXPECT_EQ(rows[0].at("priceFen").as_int64(), 999);
  EXPECT_EQ(rows[0].at("models").as_string(), "glm-4,glm-3-turbo");
  EXPECT_TRUE(rows[0].at("enabled").as_bool());
  EXPECT_EQ(run({"product", "add", "--id", "1001", "--name", "x", "--price", "1", "--quota", "1"})
                .exit_code,
            1)
      << "a duplicate id is refused";
  EXPECT_EQ(
      run({"product", "add", "--id", "1002", "--name", "x", "--price", "9.999", "--quota", "1"})
          .exit_code,
      2);
  EXPECT_EQ(run({"product", "disable", "1001"}).exit_code, 0);
  auto after = boost::json::parse(run({"--json", "product", "list"}).out).as_array();
  EXPECT_FALSE(after[0].at("enabled").as_bool());
  EXPECT_EQ(run({"product", "enable", "4242"}).exit_code, 1);
}

TEST_F(Cli, UnknownOrderIsAClearErrorWithExitOne) {
  migrated();
  auto r = run({"order", "show", "123456789012"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no order 123456789012"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(Cli, BadFlagsAndCommandsExitTwoWithUsage) {
  auto flag = run({"migrate", "--frobnicate"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("usage: chatglmd"), std::string::npos) << flag.err;
  auto cmd = run({"fly"});
  EXPECT_EQ(cmd.exit_code, 2);
  EXPECT_NE(cmd.err.find("unknown command 'fly'"), std::string::npos) << cmd.err;
  EXPECT_EQ(run({"order", "list", "--status", "payed"}).exit_code, 2);
  EXPECT_EQ(run({"migrate", "--limit", "3"}).exit_code, 2) << "a flag of another command";
  EXPECT_EQ(run({"jobs", "run", "no-such-job"}).exit_code, 2);
  EXPECT_EQ(run({"migrate"}, {{"CHATGLMD_STORE_PATHH", "x"}}).exit_code, 2)
      << "unknown environment key";
}

TEST_F(Cli, UsersGrantFreezeAndShow) {
  migrated();
  ASSERT_EQ(run({"user", "add", "wx-1", "--quota", "3", "--models", "glm-4"}).exit_code, 0);
  EXPECT_EQ(run({"user", "add", "wx-1"}).exit_code, 1);
  ASSERT_EQ(run({"user", "grant", "wx-1", "5"}).exit_code, 0);
  ASSERT_EQ(run({"user", "freeze", "wx-1"}).exit_code, 0);
  auto shown = boost::json::parse(run({"user", "show", "wx-1", "--json"}).out);
  EXPECT_EQ(shown.at("totalQuota").as_int64(), 8);
  EXPECT_EQ(shown.at("surplusQuota").as_int64(), 8);
  EXPECT_EQ(shown.at("status").as_string(), "frozen");
  EXPECT_EQ(run({"user", "show", "nobody"}).exit_code, 1);
  EXPECT_EQ(run({"user", "grant", "wx-1", "-5"}).exit_code, 2);
}

TEST_F(Cli, WordsAndWhitelist) {
  migrated();
  testing::write_file(dir_.file("words.txt"), "# comment\nfoo\n\nbar \n");
  ASSERT_EQ(run({"words", "add", "baz"}).exit_code, 0);
  auto imported = run({"words", "import", dir_.file("words.txt"), "--json"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(boost::json::parse(imported.out).at("added").as_int64(), 2);
  auto list = boost::json::parse(run({"words", "list", "--json"}).out).as_array();
  EXPECT_EQ(list.size(), 3u);
  ASSERT_EQ(run({"whitelist", "add", "vip"}).exit_code, 0);
  EXPECT_EQ(boost::json::parse(run({"whitelist", "list", "--json"}).out).as_array().size(), 1u);
  EXPECT_EQ(run({"whitelist", "remove", "vip"}).exit_code, 0);
  EXPECT_EQ(run({"whitelist", "remove", "vip"}).exit_code, 1);
}

TEST_F(Cli, UserTokenPrintsOnlyTheToken) {
  migrated();
  testing::write_file(dir_.file("secret"), "s3cret\n");
  auto r =
      run({"user", "token", "wx-9"}, {{"CHATGLMD_AUTH_TOKEN_SECRET_FILE", dir_.file("secret")}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '.'), 2);
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find(' '), std::string::npos);
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos);
  // The token works for any openid, but an operator handing it out should know it has no quota.
  EXPECT_NE(r.err.find("no account for wx-9"), std::string::npos) << r.err;
  ASSERT_EQ(run({"user", "add", "wx-9", "--quota", "1"}).exit_code, 0);
  auto known =
      run({"user", "token", "wx-9"}, {{"CHATGLMD_AUTH_TOKEN_SECRET_FILE", dir_.file("secret")}});
  ASSERT_EQ(known.exit_code, 0) << known.err;
  EXPECT_EQ(known.err, "");
}

TEST_F(Cli, ANewerDatabaseIsRefused) {
  ASSERT_EQ(run({"migrate"}).exit_code, 0);
  ASSERT_EQ(run_command({"/usr/bin/sqlite3", dir_.file("orders.db"), "PRAGMA user_version = 99"})
                .exit_code,
            0);
  auto r = run({"migrate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("newer"), std::string::npos) << r.err;
}

TEST_F(Cli, AdminCommandsLeaveARollbackJournalDatabaseAsItIs) {
  migrated();
  const std::string db = dir_.file("orders.db");
  ASSERT_EQ(run_command({"/usr/bin/sqlite3", db, "PRAGMA journal_mode = DELETE"}).exit_code, 0);
  ASSERT_FALSE(std::filesystem::exists(db + "-wal"));
  // Header bytes 18 and 19 (write and read format versions): 1 is a rollback journal, 2 WAL.
  auto header_format = [&] { return testing::read_file(db).substr(18, 2); };
  ASSERT_EQ(header_format(), std::string("\x01\x01", 2));

  EXPECT_EQ(run({"user", "show", "X"}).exit_code, 1);

  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
  EXPECT_EQ(header_format(), std::string("\x01\x01", 2)) << "the journal mode was changed";
  auto mode = run_command({"/usr/bin/sqlite3", db, "PRAGMA journal_mode"});
  EXPECT_EQ(mode.out, "delete\n");
}

TEST_F(Cli, HelpAndVersion) {
  auto help = run_command({CHATGLMD_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("jobs run NAME"), std::string::npos);
  auto keys = run_command({CHATGLMD_BIN, "--help-config"});
  EXPECT_NE(keys.out.find("jobs.timeout-close.after = 30m"), std::string::npos) << keys.out;
  EXPECT_EQ(run_command({CHATGLMD_BIN, "--version"}).exit_code, 0);
}

}  // namespace
}  // namespace chatglmd

namespace chatglmd {
namespace {

// check-config reads every secret file and key the way serve would, without serving.
TEST(CheckConfig, AcceptsAGoodSetupAndNamesEachProblem) {
  testing::TempDir dir;
  testing::write_file(dir.file("secret"), "s3cret\n");
  testing::write_file(dir.file("glm"), "abcdefgh12345678.0123456789abcdef\n");
  testing::write_file(dir.file("not-a-key"), "hello\n");
  auto ini = [&](const std::string& private_key, const std::string& glm) {
    testing::write_file(
        dir.file("c.ini"),
        "[store]\npath = " + dir.file("x.db") +
            "\n[auth]\ntoken_secret_file = " + dir.file("secret") +
            "\n[alipay]\napp_id = 2021000000000001\nprivate_key_file = " + private_key +
            "\nalipay_public_key_file = " + testing::fixture("ali_pub.pem") +
            "\n[chatglm]\napi_key_file = " + glm + "\n");
    return testing::run_command({CHATGLMD_BIN, "-c", dir.file("c.ini"), "check-config"});
  };
  auto good = ini(testing::fixture("app_pkcs8.pem"), dir.file("glm"));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("configuration ok"), std::string::npos);

  auto bad_key = ini(dir.file("not-a-key"), dir.file("glm"));
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.err.find("alipay"), std::string::npos) << bad_key.err;
  EXPECT_EQ(bad_key.err.find("hello"), std::string::npos) << "never print key material";

  auto missing = ini(testing::fixture("app_pkcs8.pem"), dir.file("no-such-file"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no-such-file"), std::string::npos) << missing.err;

  testing::write_file(dir.file("c.ini"), "[http]\nlisten = 127.0.0.1:1\nthreads = 0\n");
  auto out_of_range = testing::run_command({CHATGLMD_BIN, "-c", dir.file("c.ini"), "check-config"});
  EXPECT_EQ(out_of_range.exit_code, 2);
  EXPECT_NE(out_of_range.err.find("http.threads"), std::string::npos) << out_of_range.err;
}

}  // namespace
}  // namespace chatglmd

namespace chatglmd {
namespace {

TEST_F(Cli, LimitsAreWholeNumbersEverywhere) {
  ASSERT_EQ(run({"migrate"}).exit_code, 0);
  for (const char* bad : {"3x", "0", "-1", " 3", "1e2"}) {
    EXPECT_EQ(run({"order", "list", "--limit", bad}).exit_code, 2) << bad;
    EXPECT_EQ(run({"jobs", "history", "--limit", bad}).exit_code, 2) << bad;
  }
  EXPECT_EQ(run({"order", "list", "--limit", "3"}).exit_code, 0);
}

}  // namespace
}  // namespace chatglmd
