// chatglmd(8), --help and the sample chatglmd.ini come from the same tables: every command and
// every configuration key must appear in each, and the sample's defaults must be the real ones.
#include "app/reference_docs.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "app/cli.hpp"
#include "app/command_table.hpp"
#include "app/config.hpp"
#include "app/config_help.hpp"
#include "jobs/registry.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::app {
namespace {

using testing::read_file;

const auto kJobs = jobs::default_settings();

std::string usage_text() {
  std::ostringstream out;
  print_usage(out);
  return out.str();
}

TEST(ReferenceDocs, EveryCommandIsInHelpAndManPage) {
  const std::string help = usage_text();
  const std::string man = render_man_page(kJobs);
  ASSERT_GT(command_table().size(), 20u);
  for (const auto& c : command_table()) {
    EXPECT_NE(help.find(std::string(c.synopsis)), std::string::npos) << c.synopsis;
    EXPECT_NE(man.find("\\fB" + roff_escape(c.synopsis) + "\\fR"), std::string::npos) << c.synopsis;
  }
  for (const auto& o : global_option_table()) {
    EXPECT_NE(help.find(std::string(o.synopsis)), std::string::npos) << o.synopsis;
    EXPECT_NE(man.find(roff_escape(o.synopsis)), std::string::npos) << o.synopsis;
  }
}

// The words the dispatcher answers to are the first words of the table's synopses.
TEST(ReferenceDocs, EveryDispatchedCommandIsInTheTable) {
  std::set<std::string> first_words;
  for (const auto& c : command_table())
    first_words.insert(std::string(c.synopsis.substr(0, c.synopsis.find(' '))));
  for (const char* cmd : {"serve", "migrate", "check-config", "backup", "jobs", "order", "user",
                          "product", "words", "whitelist"})
    EXPECT_TRUE(first_words.count(cmd)) << cmd;
}

TEST(ReferenceDocs, EveryKeyHasAMeaningAndIsInTheManPage) {
  const std::string man = render_man_page(kJobs);
  const auto keys = describe_keys(kJobs);
  ASSERT_GT(keys.size(), 30u);
  for (const auto& [key, def] : keys) {
    EXPECT_FALSE(key_meaning(key).empty()) << key << " has no meaning in app/config_help.cpp";
    const std::string section = key.substr(0, key.rfind('.'));
    const std::string name = key.substr(key.rfind('.') + 1);
    auto at = man.find(".SS [" + roff_escape(section) + "]");
    ASSERT_NE(at, std::string::npos) << section;
    EXPECT_NE(man.find("\\fB" + roff_escape(name) + "\\fR = ", at), std::string::npos) << key;
    EXPECT_NE(man.find(roff_escape(env_name_for(key))), std::string::npos) << key;
  }
}

TEST(ReferenceDocs, RoffEscapesWhatRoffWouldInterpret) {
  EXPECT_EQ(roff_escape("--db"), "\\-\\-db");
  EXPECT_EQ(roff_escape(".hidden"), "\\&.hidden");
  EXPECT_EQ(roff_escape("'quote"), "\\&'quote");
  EXPECT_EQ(roff_escape("a\\b"), "a\\eb");
}

// Uncommenting every line of the sample must give a configuration load_config accepts, whose
// values are the defaults (except the install paths the sample sets on purpose).
TEST(ReferenceDocs, SampleIniListsEveryKeyWithItsRealDefault) {
  testing::TempDir dir;
  const std::string ini = render_sample_ini(kJobs);
  std::string uncommented;
  std::istringstream lines(ini);
  std::string line;
  std::map<std::string, std::string> in_file;  // section.key -> value
  std::string section;
  const std::regex setting(R"(^#?([a-z_]+) =(?: (.*))?$)");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.size() > 2 && line.front() == '[') {
      section = line.substr(1, line.size() - 2);
      uncommented += line + "\n";
    } else if (std::regex_match(line, m, setting)) {
      in_file[section + "." + m[1].str()] = m[2].str();
      if (!m[2].str().empty()) uncommented += m[1].str() + " = " + m[2].str() + "\n";
    }
  }
  for (const auto& [key, def] : describe_keys(kJobs)) {
    ASSERT_TRUE(in_file.count(key)) << key << " is missing from the sample";
    if (key == "store.path" || key.find("_file") != std::string::npos) continue;
    EXPECT_EQ(in_file[key], def) << key;
  }
  EXPECT_EQ(in_file.size(), describe_keys(kJobs).size());
  testing::write_file(dir.file("all.ini"), uncommented);
  auto loaded = load_config({dir.file("all.ini"), {}, {}}, kJobs);
  ASSERT_TRUE(loaded.config) << loaded.error;
  auto plain = load_config({}, kJobs);
  ASSERT_TRUE(plain.config);
  EXPECT_EQ(loaded.config->chat.rate_limit, plain.config->chat.rate_limit);
  EXPECT_EQ(loaded.config->http.max_body, plain.config->http.max_body);
  EXPECT_EQ(loaded.config->jobs.at("timeout-close").after,
            plain.config->jobs.at("timeout-close").after);
  EXPECT_EQ(loaded.config->store.path, "/var/lib/chatglmd/chatglmd.db");
}

// The sample as shipped: only what a packaged install needs is set.
TEST(ReferenceDocs, SampleIniAsShippedSetsOnlyTheInstallPaths) {
  testing::TempDir dir;
  testing::write_file(dir.file("chatglmd.ini"), render_sample_ini(kJobs));
  auto loaded = load_config({dir.file("chatglmd.ini"), {}, {}}, kJobs);
  ASSERT_TRUE(loaded.config) << loaded.error;
  EXPECT_EQ(loaded.config->store.path, "/var/lib/chatglmd/chatglmd.db");
  EXPECT_EQ(loaded.config->auth.token_secret_file, "/etc/chatglmd/token_secret");
  EXPECT_EQ(loaded.config->alipay.app_id, "");
  EXPECT_EQ(loaded.config->http.listen, "127.0.0.1:8090");
}

TEST(ReferenceDocs, CommittedSampleIniIsTheGeneratedOne) {
  EXPECT_EQ(read_file(std::string(CHATGLMD_SOURCE_DIR) + "/contrib/chatglmd.ini"),
            render_sample_ini(kJobs))
      << "contrib/chatglmd.ini is stale: run `cmake --build build --target update-sample-ini`";
}

// The page the build installs renders without a single groff warning (lintian checks the same).
TEST(ReferenceDocs, BuiltManPageRendersCleanly) {
  const std::string page = std::string(CHATGLMD_BUILD_DIR) + "/doc/chatglmd.8";
  EXPECT_EQ(read_file(page), render_man_page(kJobs));
  auto r = testing::run_command({"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", page});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace chatglmd::app
