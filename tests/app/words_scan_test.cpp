// `chatglmd words scan`, run as an operator would: the real binary on a real store file.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd {
namespace {

using testing::CommandResult;
using testing::run_command;

class WordsScan : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run({"migrate"}).exit_code, 0);
    ASSERT_EQ(run({"words", "add", "坏词", "bad", "abc"}).exit_code, 0);
  }
  CommandResult run(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), CHATGLMD_BIN);
    args.push_back("--db");
    args.push_back(dir_.file("orders.db"));
    return run_command(args, {}, stdin_text);
  }
  testing::TempDir dir_;
};

// Full-width and upper-case variants are folded as in chat; line ends and a last line without
// one come out as they went in.
const std::string kText = "这是坏词 and BAD ＢＡＤ\r\nclean line\n\nlast 坏词";
const std::string kMasked = "这是** and *** ***\r\nclean line\n\nlast **";

TEST_F(WordsScan, MasksStdinLineByLineAsTheChatDoes) {
  auto r = run({"words", "scan"}, kText);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kMasked);
  auto dash = run({"words", "scan", "-"}, kText);
  ASSERT_EQ(dash.exit_code, 0) << dash.err;
  EXPECT_EQ(dash.out, kMasked);
}

TEST_F(WordsScan, MasksAFileAndAWordAddedSinceIsUsed) {
  testing::write_file(dir_.file("in.txt"), kText);
  auto r = run({"words", "scan", dir_.file("in.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kMasked);
  ASSERT_EQ(run({"words", "add", "clean"}).exit_code, 0);
  auto again = run({"words", "scan", dir_.file("in.txt")});
  EXPECT_EQ(again.out, "这是** and *** ***\r\n***** line\n\nlast **");
}

TEST_F(WordsScan, LinesLongerThanOneReadBlockAreScannedWhole) {
  // A word cut by the 1 MiB read block must still be found: lines are scanned whole.
  std::string text(1024 * 1024 - 1, 'x');
  text += "坏词\n";
  text += std::string(3 * 1024 * 1024, 'y') + "ab";
  text += "c\n";
  auto r = run({"words", "scan", "--count", "--json"}, text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = boost::json::parse(r.out);
  EXPECT_EQ(v.at("lines").as_int64(), 2);
  EXPECT_EQ(v.at("hits").as_int64(), 2);
  EXPECT_EQ(v.at("bytes").as_int64(), static_cast<std::int64_t>(text.size()));
}

TEST_F(WordsScan, CountPrintsHitsForPeopleAndForScripts) {
  auto table = run({"words", "scan", "--count"}, kText);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("hits:"), std::string::npos) << table.out;
  auto json = run({"words", "scan", "--count", "--json"}, kText);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto v = boost::json::parse(json.out);
  EXPECT_EQ(v.at("lines").as_int64(), 4);
  EXPECT_EQ(v.at("linesWithHits").as_int64(), 2);
  EXPECT_EQ(v.at("hits").as_int64(), 4);
  EXPECT_EQ(v.at("maskedChars").as_int64(), 10);
  EXPECT_EQ(v.at("bytes").as_int64(), static_cast<std::int64_t>(kText.size()));
  EXPECT_EQ(v.at("words").as_int64(), 3);
}

TEST_F(WordsScan, AWhitelistedUserGetsNothingMasked) {
  ASSERT_EQ(run({"whitelist", "add", "vip"}).exit_code, 0);
  auto vip = run({"words", "scan", "--user", "vip"}, kText);
  ASSERT_EQ(vip.exit_code, 0) << vip.err;
  EXPECT_EQ(vip.out, kText);
  EXPECT_NE(vip.err.find("whitelisted"), std::string::npos) << vip.err;
  auto other = run({"words", "scan", "--user", "someone"}, kText);
  EXPECT_EQ(other.out, kMasked);
}

TEST_F(WordsScan, AMissingFileIsAClearErrorWithExitOne) {
  auto r = run({"words", "scan", dir_.file("nope.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read " + dir_.file("nope.txt") + ": No such file or directory"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
  auto folder = run({"words", "scan", dir_.path().string()});
  EXPECT_EQ(folder.exit_code, 1);
  EXPECT_NE(folder.err.find("Is a directory"), std::string::npos) << folder.err;
}

TEST_F(WordsScan, BadArgumentsAndNoDatabaseExitTwo) {
  EXPECT_EQ(run({"words", "scan", "a", "b"}).exit_code, 2);
  EXPECT_EQ(run({"words", "scan", "--json"}, kText).exit_code, 2) << "--json needs --count";
  EXPECT_EQ(run({"words", "scan", "--limit", "3"}, kText).exit_code, 2);
  auto none =
      run_command({CHATGLMD_BIN, "words", "scan", "--db", dir_.file("missing.db")}, {}, kText);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no database"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace chatglmd
