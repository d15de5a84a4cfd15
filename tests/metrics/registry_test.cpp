#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/metrics.hpp"

namespace chatglmd::metrics {
namespace {

TEST(MetricsRegistry, CounterWithLabelsRendersHelpTypeAndSeries) {
  Registry reg;
  auto& requests =
      reg.counter("chatglmd_http_requests_total", "HTTP requests.", {"route", "status"});
  requests.labels({"/healthz", "200"}).inc();
  requests.labels({"/healthz", "200"}).inc(2);
  requests.labels({"/metrics", "200"}).inc();
  EXPECT_EQ(reg.render(),
            "# HELP chatglmd_http_requests_total HTTP requests.\n"
            "# TYPE chatglmd_http_requests_total counter\n"
            "chatglmd_http_requests_total{route=\"/healthz\",status=\"200\"} 3\n"
            "chatglmd_http_requests_total{route=\"/metrics\",status=\"200\"} 1\n");
}

TEST(MetricsRegistry, PreRegisteredSeriesReadZero) {
  Registry reg;
  auto& rejected = reg.counter("chatglmd_notify_rejected_total", "Rejected notifies.", {"reason"});
  rejected.labels({"amount"});
  auto& open = reg.gauge("chatglmd_http_open_streams", "Open streams.");
  open.get();
  std::string text = reg.render();
  EXPECT_NE(text.find("chatglmd_notify_rejected_total{reason=\"amount\"} 0\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("chatglmd_http_open_streams 0\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, LabelValuesAndHelpAreEscaped) {
  Registry reg;
  reg.counter("x_total", "a \\ b\nc", {"v"}).labels({"q\"u\\o\nte"}).inc();
  EXPECT_EQ(reg.render(),
            "# HELP x_total a \\\\ b\\nc\n"
            "# TYPE x_total counter\n"
            "x_total{v=\"q\\\"u\\\\o\\nte\"} 1\n");
}

TEST(MetricsRegistry, GaugeGoesUpAndDownAndGuardRestores) {
  Registry reg;
  auto& g = reg.gauge("conns", "Open connections.").get();
  g.set(5);
  g.dec(2);
  {
    GaugeGuard guard(g);
    EXPECT_EQ(g.value(), 4);
    GaugeGuard moved(std::move(guard));
    EXPECT_EQ(g.value(), 4);
  }
  EXPECT_EQ(g.value(), 3);
  g.set(0.25);
  EXPECT_NE(reg.render().find("conns 0.25\n"), std::string::npos);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry reg;
  auto& h = reg.histogram("lat_seconds", "Latency.", {"route"}, {0.1, 1}).labels({"/a"});
  h.observe(0.05);
  h.observe(0.1);  // on the bound: belongs to le="0.1"
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(reg.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{route=\"/a\"} 7.65\n"
            "lat_seconds_count{route=\"/a\"} 4\n");
}

TEST(MetricsRegistry, SameNameSameShapeIsSharedDifferentShapeIsABug) {
  Registry reg;
  auto& a = reg.counter("c_total", "C.", {"x"});
  auto& b = reg.counter("c_total", "C.", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(reg.gauge("c_total", "C."), std::logic_error);
  EXPECT_THROW(reg.counter("c_total", "C.", {"y"}), std::logic_error);
  EXPECT_THROW(reg.counter("bad name", "C."), std::logic_error);
  EXPECT_THROW(reg.histogram("h", "H.", {"le"}), std::logic_error);
  EXPECT_THROW(reg.histogram("h2", "H.", {}, {1, 0.5}), std::logic_error);
  EXPECT_THROW(a.labels({"1", "2"}), std::logic_error);
}

TEST(MetricsRegistry, ConcurrentUpdatesAreNotLost) {
  Registry reg;
  auto& fam = reg.counter("n_total", "N.", {"t"});
  auto& hist = reg.histogram("h_seconds", "H.").get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      auto& c = fam.labels({"shared"});
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        hist.observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fam.labels({"shared"}).value(), 40000);
  EXPECT_EQ(hist.count(), 40000u);
}

TEST(MetricsRegistry, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&default_registry(), &default_registry());
}

TEST(MetricsRegistry, FormatValue) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace chatglmd::metrics
