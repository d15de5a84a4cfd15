#include "app/config.hpp"

#include <gtest/gtest.h>

#include "app/durations.hpp"
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

}  // namespace
}  // namespace chatglmd::app
