#include "http/handlers/product_catalogue.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "store/store.hpp"

namespace chatglmd::http {

namespace {

std::string json_text(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

}  // namespace

// Product list JSON by hand: `price` must read 9.99, which Boost.JSON would print as 9.99E0.
Response product_list_answer(const std::vector<store::Product>& products) {
  std::string out = "[";
  for (const auto& p : products) {
    if (!p.enabled) continue;
    if (out.size() > 1) out += ',';
    out += "{\"productId\":" + std::to_string(p.product_id) +
           ",\"productName\":" + json_text(p.name) + ",\"productDesc\":" + json_text(p.desc) +
           ",\"quota\":" + std::to_string(p.quota) + ",\"price\":" + core::format_yuan(p.price) +
           ",\"priceFen\":" + std::to_string(p.price.value) +
           ",\"modelTypes\":" + json_text(p.model_types) + "}";
  }
  out += "]";
  return envelope_raw(code::ok, "success", out);
}

ProductCatalogue::ProductCatalogue(store::ProductRepository& products, bool check_on_read)
    : products_(products), check_on_read_(check_on_read) {
  reload();
}

void ProductCatalogue::reload() {
  std::lock_guard reloading(reload_mutex_);
  // The list comes with the stamp it was read at: a change that lands after the read bumps the
  // stamp past version_ and is loaded at the next poll.
  auto snapshot = products_.snapshot();
  auto answer = std::make_shared<const Response>(product_list_answer(snapshot.items));
  {
    std::lock_guard lock(answer_mutex_);
    answer_ = std::move(answer);
  }
  if (version_ != -1 && version_ != snapshot.version)
    spdlog::info("catalogue: {} products reloaded", snapshot.items.size());
  version_ = snapshot.version;
}

bool ProductCatalogue::reload_if_changed() {
  bool changed = false;
  {
    std::lock_guard reloading(reload_mutex_);
    changed = products_.version() != version_;
  }
  if (changed) reload();
  return changed;
}

std::shared_ptr<const Response> ProductCatalogue::checked_answer() {
  if (!check_on_read_) return answer();
  try {
    bool changed = false;
    {
      // Another io thread checking this very moment answers for both: the threads never queue
      // behind each other on the catalogue's one connection.
      std::unique_lock checking(reload_mutex_, std::try_to_lock);
      if (!checking) return answer();
      changed = products_.version() != version_;
    }
    if (changed) reload();
  } catch (const std::exception&) {
    // Busy or broken: the copy in memory is still a valid answer; the poll tries again.
  }
  return answer();
}

std::shared_ptr<const Response> ProductCatalogue::answer() const {
  std::lock_guard lock(answer_mutex_);
  return answer_;
}

}  // namespace chatglmd::http
