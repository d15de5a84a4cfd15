// Prometheus text exposition format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
#include <fmt/format.h>

#include <cmath>

#include "metrics/metrics.hpp"

namespace chatglmd::metrics {
namespace {

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const LabelValues& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

template <class Series>
void render_simple(std::string& out, const Family<Series>& f, std::string_view type) {
  header(out, f.name(), f.help(), type);
  f.for_each([&](const LabelValues& values, const Series& s) {
    out += f.name();
    append_labels(out, f.label_names(), values);
    out += ' ';
    out += format_value(s.value());
    out += '\n';
  });
}

void render_histogram(std::string& out, const HistogramFamily& f) {
  header(out, f.name(), f.help(), "histogram");
  f.for_each([&](const LabelValues& values, const Histogram& h) {
    auto counts = h.bucket_counts();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      out += f.name();
      out += "_bucket";
      std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
      append_labels(out, f.label_names(), values, "le", le);
      out += ' ';
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += f.name();
    out += "_sum";
    append_labels(out, f.label_names(), values);
    out += ' ';
    out += format_value(h.sum());
    out += '\n';
    out += f.name();
    out += "_count";
    append_labels(out, f.label_names(), values);
    out += ' ';
    // The count comes from the buckets, so _count always equals the +Inf bucket in one scrape.
    out += std::to_string(cumulative);
    out += '\n';
  });
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    switch (e->kind) {
      case Kind::counter:
        render_simple(out, *e->counter, "counter");
        break;
      case Kind::gauge:
        render_simple(out, *e->gauge, "gauge");
        break;
      case Kind::histogram:
        render_histogram(out, *e->histogram);
        break;
    }
  }
  return out;
}

}  // namespace chatglmd::metrics
