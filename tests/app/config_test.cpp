#include "app/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "app/durations.hpp"
#include "http/client_address.hpp"
#include "jobs/registry.hpp"
#include "support/temp_dir.hpp"

namespace chatglmd::app {
namespace {

std::map<std::string, jobs::JobSettings> job_defaults() {
  return jobs::default_settings();
}

TEST(Durations, ParseEveryUnitAndRefuseBareNumbers) {
  EXPECT_EQ(parse_duration("30m"), core::Millis(30 * 60 * 1000));
  EXPECT_EQ(parse_duration("10s"), core::Millis(10000));
  EXPECT_EQ(parse_duration("250ms"), core::Millis(250));
  EXPECT_EQ(parse_duration("2h"), core::Millis(2 * 3600 * 1000));
  EXPECT_EQ(parse_duration("7d"), core::Millis(7LL * 86400 * 1000));
  for (const char* bad : {"30", "m", "-1m", "1.5m", "1 m", "", "10x"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
  EXPECT_EQ(format_duration(core::Millis(30 * 60 * 1000)), "30m");
  EXPECT_EQ(parse_size("1m"), 1u << 20);
}

TEST(Config, DefaultsWithoutAnySource) {
  auto r = load_config({}, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->http.listen, "127.0.0.1:8090");
  EXPECT_EQ(r.config->http.max_body, 1u << 20);
  EXPECT_EQ(r.config->chatglm.token_ttl, core::Millis(30 * 60 * 1000));
  EXPECT_EQ(r.config->jobs.at("timeout-close").after, core::Millis(30 * 60 * 1000));
  EXPECT_EQ(r.config->jobs.at("replenish-shipment").after, core::Millis(3 * 60 * 1000));
  EXPECT_EQ(r.config->jobs.at("reconcile").after, core::Millis(60 * 1000));
  EXPECT_EQ(r.config->jobs.at("reconcile").batch, 50);
  EXPECT_EQ(r.config->jobs.at("reconcile").concurrency, 16);
}

TEST(Config, FileThenEnvironmentThenFlags) {
  testing::TempDir dir;
  testing::write_file(
      dir.file("c.ini"),
      "[store]\npath = /from/file.db\n[http]\nlisten = 127.0.0.1:9000\nthreads = 3\n"
      "[jobs.timeout-close]\ninterval = 5m\nenabled = false\n");
  ConfigSources s;
  s.file = dir.file("c.ini");
  s.environment = {{"CHATGLMD_HTTP_LISTEN", "127.0.0.1:9100"},
                   {"CHATGLMD_JOBS_TIMEOUT_CLOSE_INTERVAL", "7m"},
                   {"PATH", "/usr/bin"}};
  s.overrides = {{"store.path", "/from/flag.db"}};
  auto r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->store.path, "/from/flag.db");
  EXPECT_EQ(r.config->http.listen, "127.0.0.1:9100");
  EXPECT_EQ(r.config->http.threads, 3);
  EXPECT_EQ(r.config->jobs.at("timeout-close").interval, core::Millis(7 * 60 * 1000));
  EXPECT_FALSE(r.config->jobs.at("timeout-close").enabled);
}

TEST(Config, UnknownKeysAreErrors) {
  testing::TempDir dir;
  testing::write_file(dir.file("c.ini"), "[http]\nlisten = 127.0.0.1:9000\nlistne = oops\n");
  auto r = load_config({dir.file("c.ini"), {}, {}}, job_defaults());
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.error.find("listne"), std::string::npos) << r.error;

  auto e = load_config({std::nullopt, {{"CHATGLMD_HTTP_LISTNE", "x"}}, {}}, job_defaults());
  EXPECT_FALSE(e.config);
  EXPECT_NE(e.error.find("CHATGLMD_HTTP_LISTNE"), std::string::npos) << e.error;

  testing::write_file(dir.file("d.ini"), "[jobs.no-such-job]\nenabled = true\n");
  EXPECT_FALSE(load_config({dir.file("d.ini"), {}, {}}, job_defaults()).config);
}

TEST(Config, BadValuesNameTheKeyAndTheSource) {
  auto r =
      load_config({std::nullopt, {{"CHATGLMD_JOBS_RECONCILE_BATCH", "0"}}, {}}, job_defaults());
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.error.find("jobs.reconcile.batch"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("CHATGLMD_JOBS_RECONCILE_BATCH"), std::string::npos) << r.error;
  auto d = load_config({std::nullopt, {{"CHATGLMD_ALIPAY_TIMEOUT", "10"}}, {}}, job_defaults());
  EXPECT_FALSE(d.config);
  EXPECT_NE(d.error.find("duration"), std::string::npos) << d.error;
  auto m = load_config({std::nullopt, {{"CHATGLMD_ALIPAY_MODE", "qr"}}, {}}, job_defaults());
  EXPECT_FALSE(m.config);
}

TEST(Config, LatePaymentPolicyDefaultsToDeliverAndTakesRefund) {
  auto d = load_config({}, job_defaults());
  ASSERT_TRUE(d.config) << d.error;
  EXPECT_EQ(d.config->alipay.late_payment, core::LatePaymentPolicy::Deliver);
  EXPECT_EQ(d.config->jobs.at("refund-query").after, core::Millis(60 * 1000));
  auto r =
      load_config({std::nullopt, {{"CHATGLMD_ALIPAY_LATE_PAYMENT", "refund"}}, {}}, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->alipay.late_payment, core::LatePaymentPolicy::Refund);
  auto bad =
      load_config({std::nullopt, {{"CHATGLMD_ALIPAY_LATE_PAYMENT", "keep"}}, {}}, job_defaults());
  EXPECT_FALSE(bad.config);
  EXPECT_NE(bad.error.find("alipay.late_payment"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("deliver or refund"), std::string::npos) << bad.error;
}

TEST(Config, EnvironmentNamesFollowTheRule) {
  EXPECT_EQ(env_name_for("jobs.timeout-close.interval"), "CHATGLMD_JOBS_TIMEOUT_CLOSE_INTERVAL");
  EXPECT_EQ(env_name_for("alipay.alipay_public_key_file"),
            "CHATGLMD_ALIPAY_ALIPAY_PUBLIC_KEY_FILE");
}

TEST(Config, SecretFilesAreTrimmed) {
  testing::TempDir dir;
  testing::write_file(dir.file("s"), "  \n abc.def \n\n");
  std::string error;
  EXPECT_EQ(read_secret_file(dir.file("s"), error), "abc.def");
  EXPECT_FALSE(read_secret_file(dir.file("missing"), error));
  EXPECT_NE(error.find("missing"), std::string::npos);
  testing::write_file(dir.file("empty"), " \n");
  EXPECT_FALSE(read_secret_file(dir.file("empty"), error));
}

TEST(Config, TrustedProxiesAreParsedAtLoad) {
  ConfigSources s;
  s.environment = {{"CHATGLMD_HTTP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ,2001:db8::/32"}};
  auto r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->http.trusted_proxies,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "2001:db8::/32"}));
  std::string error;
  auto t = *http::TrustedProxies::parse(r.config->http.trusted_proxies, error);
  EXPECT_TRUE(t.contains(*http::parse_hop("10.200.0.1")));
  EXPECT_TRUE(t.contains(*http::parse_hop("2001:db8:ff::1")));
  EXPECT_FALSE(t.contains(*http::parse_hop("127.0.0.2")));
  EXPECT_TRUE(load_config({}, job_defaults()).config->http.trusted_proxies.empty());

  s.environment = {{"CHATGLMD_HTTP_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/40"}};
  r = load_config(s, job_defaults());
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.error.find("http.trusted_proxies"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("'10.0.0.0/40'"), std::string::npos) << r.error;
}

TEST(Config, WechatTokenFromAFileOrTheDeprecatedKeyButNotBoth) {
  testing::TempDir dir;
  testing::write_file(dir.file("wx"), "\n file-token \n");
  ConfigSources s;
  s.environment = {{"CHATGLMD_AUTH_WECHAT_TOKEN_FILE", dir.file("wx")}};
  auto r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  std::string error;
  EXPECT_EQ(wechat_server_token(r.config->auth, error), "file-token");

  s.environment = {{"CHATGLMD_AUTH_WECHAT_TOKEN", "inline-token"}};
  r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(wechat_server_token(r.config->auth, error), "inline-token");
  EXPECT_EQ(wechat_server_token(load_config({}, job_defaults()).config->auth, error), "");

  s.environment = {{"CHATGLMD_AUTH_WECHAT_TOKEN", "inline-token"},
                   {"CHATGLMD_AUTH_WECHAT_TOKEN_FILE", dir.file("wx")}};
  r = load_config(s, job_defaults());
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.error.find("both set"), std::string::npos) << r.error;

  s.environment = {{"CHATGLMD_AUTH_WECHAT_TOKEN_FILE", dir.file("missing")}};
  r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_FALSE(wechat_server_token(r.config->auth, error));
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
}

TEST(Config, HelpListsTheLoginKeys) {
  auto keys = describe_keys(job_defaults());
  auto has = [&](const std::string& name) {
    return std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k.first == name; });
  };
  EXPECT_TRUE(has("http.trusted_proxies"));
  EXPECT_TRUE(has("auth.wechat_token_file"));
  EXPECT_TRUE(has("auth.wechat_token"));
}

TEST(Config, RelativePathsInTheFileAreRelativeToTheFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "etc");
  testing::write_file(
      dir.path() / "etc" / "c.ini",
      "[store]\npath = state/../chatglmd.db\n[http]\nweb_dir = web\n"
      "[auth]\ntoken_secret_file = secret\n[alipay]\nprivate_key_file = /abs/key\n");
  ConfigSources s;
  s.file = dir.file("etc/c.ini");
  s.environment = {{"CHATGLMD_CHATGLM_API_KEY_FILE", "keys/glm"}};
  auto r = load_config(s, job_defaults());
  ASSERT_TRUE(r.config) << r.error;
  const auto etc = dir.path() / "etc";
  EXPECT_EQ(r.config->store.path, (etc / "chatglmd.db").string());
  EXPECT_EQ(r.config->http.web_dir, (etc / "web").string());
  EXPECT_EQ(r.config->auth.token_secret_file, (etc / "secret").string());
  EXPECT_EQ(r.config->alipay.private_key_file, "/abs/key");
  // From the environment (or a flag): relative to the working directory, as in a shell.
  EXPECT_EQ(r.config->chatglm.api_key_file,
            (std::filesystem::current_path() / "keys/glm").string());
  EXPECT_EQ(r.config->alipay.alipay_public_key_file, "") << "unset stays unset";

  // The default database name follows the file too; without -c, the working directory.
  testing::write_file(dir.path() / "etc" / "c.ini", "[http]\nthreads = 2\n");
  EXPECT_EQ(load_config(s, job_defaults()).config->store.path, (etc / "chatglmd.db").string());
  EXPECT_EQ(load_config({}, job_defaults()).config->store.path,
            (std::filesystem::current_path() / "chatglmd.db").string());
  EXPECT_EQ(load_config({}, job_defaults()).config->http.web_dir, "") << "embedded page";
}

TEST(Config, ARestartOnlyChangeIsNamed) {
  ConfigSources s;
  auto running = *load_config(s, job_defaults()).config;
  s.environment = {{"CHATGLMD_AUTH_WHITELIST", "vip"}, {"CHATGLMD_LOG_LEVEL", "debug"}};
  EXPECT_TRUE(restart_only_changes(running, *load_config(s, job_defaults()).config).empty())
      << "the whitelist and the log level are applied by a reload";
  s.environment["CHATGLMD_HTTP_THREADS"] = "4";
  s.environment["CHATGLMD_STORE_PATH"] = "/elsewhere.db";
  EXPECT_EQ(restart_only_changes(running, *load_config(s, job_defaults()).config),
            (std::vector<std::string>{"http.threads", "store.path"}));
}

TEST(Config, WebDirProblemsCarryTheOsReason) {
  testing::TempDir dir;
  Config c;
  EXPECT_FALSE(web_dir_problem(c)) << "empty: the embedded page";
  c.http.web_dir = dir.path().string();
  EXPECT_FALSE(web_dir_problem(c));
  c.http.web_dir = dir.file("missing");
  EXPECT_EQ(web_dir_problem(c),
            "http.web_dir " + dir.file("missing") + ": No such file or directory");
  testing::write_file(dir.file("f"), "x");
  c.http.web_dir = dir.file("f");
  EXPECT_EQ(web_dir_problem(c), "http.web_dir " + dir.file("f") + ": Not a directory");
}

TEST(Config, SecretFileErrorsCarryTheOsReason) {
  std::string error;
  EXPECT_FALSE(read_secret_file("/no/such/secret", error));
  EXPECT_EQ(error, "cannot read secret file /no/such/secret: No such file or directory");
}

}  // namespace
}  // namespace chatglmd::app
